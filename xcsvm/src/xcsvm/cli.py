"""Command line: ``xcsvm train | predict | evaluate`` on svmlight/LIBSVM files.

Examples
--------
::

    xcsvm train --formulation ww -C 1 --n-jobs 2 train.svm model.npz
    xcsvm predict model.npz test.svm --output predictions.txt
    xcsvm evaluate model.npz test.svm          # error, micro-F1, macro-F1, density
    xcsvm train --multilabel train.svm ml.npz  # labels "l1,l2,..." (LIBSVM multi-label format)
    xcsvm evaluate ml.npz test.svm             # P@1/3/5, nDCG@5, PSP@5, F1, Hamming loss
    mpiexec -n 4 xcsvm train --distributed ... # handled by xcsvm.distributed.cli
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import scipy.sparse as sp

from xcsvm.exceptions import DataFormatError, ModelFormatError

__all__ = ["main", "build_parser", "read_svmlight", "evaluation_metrics"]


def _index_overflow_line(path) -> str:
    """``"line N: index I: "`` of the first feature index beyond int32, or "" (error path only)."""
    limit = np.iinfo(np.int32).max
    try:
        with open(path, "rb") as stream:
            for number, line in enumerate(stream, start=1):
                for token in line.split(b"#", 1)[0].split()[1:]:
                    index = token.split(b":", 1)[0]
                    if index.isdigit() and int(index) > limit:
                        return f"line {number}: index {int(index)}: "
    except OSError:
        pass
    return ""


def read_svmlight(path, *, zero_based=False, n_features=None):
    """Read an svmlight/LIBSVM file as ``(X CSR float64, y)``.

    ``n_features`` fixes the width: columns beyond it (features the model
    never saw, whose weights are zero) are dropped, missing ones padded.
    Integral labels are returned as int64.

    Raises
    ------
    DataFormatError
        If the file is malformed or empty.
    """
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(str(path), zero_based=zero_based, dtype=np.float64)
    except FileNotFoundError:
        raise
    except OverflowError as error:  # sklearn's parser reads feature indices as C ints
        raise DataFormatError(
            f"{path}: {_index_overflow_line(path)}feature index too large ({error}); svmlight feature "
            f"indices must be at most {np.iinfo(np.int32).max}: renumber the features"
        ) from error
    except (ValueError, RuntimeError, UnicodeDecodeError) as error:
        hint = (
            " (indices start at 0 here: pass --zero-based)"
            if "index 0" in str(error).lower()
            else ""
        )
        raise DataFormatError(
            f"{path} is not a valid svmlight/LIBSVM file: {error}{hint}"
        ) from error
    if X.shape[0] == 0:
        raise DataFormatError(f"{path} contains no samples")
    X = sp.csr_matrix(X)
    if n_features is not None and X.shape[1] != n_features:
        if X.shape[1] > n_features:
            X = X[:, :n_features]
        else:
            X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return X, y


def evaluation_metrics(y_true, y_pred, coef) -> dict:
    """Error and F1 in percent, and the model density (Tables III.3/III.4 columns)."""
    from sklearn.metrics import f1_score

    coef = coef.toarray() if sp.issparse(coef) else np.asarray(coef)
    return {
        "error": 100.0 * float(np.mean(y_true != y_pred)),
        "micro_f1": 100.0 * float(f1_score(y_true, y_pred, average="micro")),
        "macro_f1": 100.0 * float(f1_score(y_true, y_pred, average="macro")),
        "density": 100.0 * float(np.count_nonzero(coef)) / max(coef.size, 1),
        "n_samples": len(y_true),
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xcsvm", description="Exact all-in-one multi-class linear SVMs (WW, LLW, CS)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model on an svmlight file")
    train.add_argument("train_file", help="training data (svmlight/LIBSVM format)")
    train.add_argument("model_file", help="where to write the model (.npz)")
    train.add_argument("--formulation", "-f", choices=["ww", "llw", "cs"], default="ww")
    train.add_argument("-C", type=float, default=1.0, help="regularisation (default 1.0)")
    train.add_argument("--tol", type=float, default=0.1, help="stopping violation (default 0.1)")
    train.add_argument("--max-iter", type=int, default=1000, help="maximal epochs (default 1000)")
    train.add_argument("--no-shrinking", action="store_true", help="disable shrinking")
    train.add_argument("--no-intercept", action="store_true", help="fit without intercept")
    train.add_argument(
        "--margin", choices=["thesis", "lee_lin_wahba"], default="thesis", help="LLW margin"
    )
    train.add_argument("--n-jobs", type=int, default=1, help="OpenMP threads (-1: all cores)")
    train.add_argument("--random-state", type=int, default=None)
    train.add_argument("--zero-based", action="store_true", help="feature indices start at 0")
    train.add_argument(
        "--multilabel",
        action="store_true",
        help="multi-label WW (comma-separated labels per line, LIBSVM's multi-label format); "
        "the model file records the mode, predict/evaluate follow it",
    )
    train.add_argument("--verbose", "-v", action="count", default=0)
    train.add_argument(
        "--distributed",
        action="store_true",
        help="train with MPI under mpiexec; the options are then those of "
        "'python -m xcsvm.distributed train --help' (model file via -m)",
    )

    for name, text in (
        ("predict", "write predicted labels"),
        ("evaluate", "print error, F1 and density"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("model_file")
        command.add_argument("data_file")
        command.add_argument("--zero-based", action="store_true", help="feature indices start at 0")
        command.add_argument("--n-jobs", type=int, default=1)
        if name == "predict":
            command.add_argument(
                "--output", "-o", default=None, help="output file (default: stdout)"
            )
        else:
            command.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return parser


def _check_output_folder(path, what):
    from pathlib import Path

    folder = Path(path).parent if str(Path(path).parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"cannot write {what} {path}: folder {folder} does not exist; create it or choose another path"
        )


def _train(args) -> int:
    from xcsvm.estimators import estimator_class
    from xcsvm.io import save_model

    _check_output_folder(args.model_file, "model")  # before training, not after it
    if args.multilabel:
        return _train_multilabel(args)
    X, y = read_svmlight(args.train_file, zero_based=args.zero_based)
    params = dict(
        C=args.C,
        tol=args.tol,
        max_iter=args.max_iter,
        shrinking=not args.no_shrinking,
        fit_intercept=not args.no_intercept,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    if args.formulation == "llw":
        params["margin"] = args.margin
    model = estimator_class(args.formulation)(**params)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    save_model(args.model_file, model)
    print(
        f"trained {args.formulation.upper()} on {X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(model.classes_)} classes in {seconds:.2f} s: {model.n_iter_} epochs, "
        f"relative duality gap {model.dual_gap_:.3g}, density {100 * model.density_:.2f} %; "
        f"model written to {args.model_file}"
    )
    return 0


def _train_multilabel(args) -> int:
    """``xcsvm train --multilabel``: WW on the pairwise ranking hinge; ``classes`` are the file's labels."""
    from xcsvm.estimators import WWClassifier
    from xcsvm.io import read_svmlight_multilabel, save_model

    if args.formulation != "ww":
        raise ValueError(
            f"--multilabel trains the multi-label WW model; use --formulation ww, not {args.formulation!r}"
        )
    X, Y, labels = read_svmlight_multilabel(args.train_file, zero_based=args.zero_based)
    if Y.shape[1] < 2:
        raise ValueError(
            f"{args.train_file} has {Y.shape[1]} distinct label(s); multi-label training needs at least two"
        )
    model = WWClassifier(
        C=args.C,
        tol=args.tol,
        max_iter=args.max_iter,
        shrinking=not args.no_shrinking,
        fit_intercept=not args.no_intercept,
        n_jobs=args.n_jobs,
        random_state=args.random_state,
        verbose=args.verbose,
    )
    start = time.perf_counter()
    model.fit(X, Y)
    seconds = time.perf_counter() - start
    model.classes_ = labels  # column j of the indicator is the file's label labels[j]
    save_model(args.model_file, model)
    print(
        f"trained multi-label WW on {X.shape[0]} samples, {X.shape[1]} features, {len(labels)} labels "
        f"({Y.nnz / X.shape[0]:.2f} per sample) in {seconds:.2f} s: {model.n_iter_} epochs, relative duality "
        f"gap {model.dual_gap_:.3g}, density {100 * model.density_:.2f} %; model written to {args.model_file}"
    )
    return 0


def multilabel_metrics(Y_true, scores, Y_pred, coef) -> dict:
    """P@1/3/5, nDCG@5, PSP@5 (propensities of the evaluated file), F1 and Hamming loss, in percent."""
    from sklearn.metrics import f1_score, hamming_loss

    from xcsvm.metrics import (
        ndcg_at_k,
        precision_at_k,
        propensities,
        propensity_scored_precision_at_k,
    )

    coef = coef.toarray() if sp.issparse(coef) else np.asarray(coef)
    K = scores.shape[1]
    out = {f"p@{k}": 100.0 * float(precision_at_k(Y_true, scores, k)) for k in (1, 3, 5) if k <= K}
    k5 = min(5, K)
    out[f"ndcg@{k5}"] = 100.0 * float(ndcg_at_k(Y_true, scores, k5))
    out[f"psp@{k5}"] = 100.0 * float(
        propensity_scored_precision_at_k(Y_true, scores, k5, propensities=propensities(Y_true))
    )
    out["micro_f1"] = 100.0 * float(f1_score(Y_true, Y_pred, average="micro", zero_division=0))
    out["macro_f1"] = 100.0 * float(f1_score(Y_true, Y_pred, average="macro", zero_division=0))
    out["hamming_loss"] = 100.0 * float(hamming_loss(Y_true, Y_pred))
    out["density"] = 100.0 * float(np.count_nonzero(coef)) / max(coef.size, 1)
    out["n_samples"] = int(Y_true.shape[0])
    return out


def _load_multilabel(args, model):
    from xcsvm.io import read_svmlight_multilabel

    # Labels the model never saw cannot be predicted; predict ignores them, evaluate refuses them.
    unknown = "ignore" if args.command == "predict" else "error"
    X, Y, _ = read_svmlight_multilabel(
        args.data_file,
        zero_based=args.zero_based,
        n_features=model.n_features_in_,
        labels=model.classes_,
        unknown_labels=unknown,
    )
    return X, Y


def _load(args):
    from xcsvm.io import load_model

    model = load_model(args.model_file)
    model.n_jobs = args.n_jobs
    if getattr(model, "multilabel_", False):
        return (model, *_load_multilabel(args, model))
    X, y = read_svmlight(
        args.data_file, zero_based=args.zero_based, n_features=model.n_features_in_
    )
    return model, X, y


def _predict(args) -> int:
    if args.output is not None:
        _check_output_folder(args.output, "predictions")
    model, X, _ = _load(args)
    predictions = model.predict(X)
    if getattr(
        model, "multilabel_", False
    ):  # one line per sample: "l1,l2,..." (LIBSVM multi-label)
        lines = (
            "\n".join(
                ",".join(str(label) for label in model.classes_[np.flatnonzero(row)])
                for row in np.asarray(predictions)
            )
            + "\n"
        )
    else:
        lines = "\n".join(str(label) for label in predictions) + "\n"
    if args.output is None:
        sys.stdout.write(lines)
    else:
        from xcsvm._atomic import atomic_write

        atomic_write(
            args.output, lambda stream: stream.write(lines), binary=False, what="predictions"
        )
    return 0


def _evaluate(args) -> int:
    model, X, y = _load(args)
    if getattr(model, "multilabel_", False):
        scores = model.decision_function(X)
        metrics = multilabel_metrics(
            sp.csr_matrix(y), scores, sp.csr_matrix(model.predict(X)), model.coef_
        )
        if args.json:
            print(json.dumps(metrics))
        else:
            for key, value in metrics.items():
                print(f"{key:<13} {value}" if key == "n_samples" else f"{key:<13} {value:.2f} %")
        return 0
    classes = model.classes_
    unseen = np.setdiff1d(
        np.unique(y), classes.astype(y.dtype) if classes.dtype.kind in "iuf" else classes
    )
    if unseen.size:
        raise ValueError(
            f"{args.data_file} has labels the model was not trained on: {unseen[:10].tolist()}"
            f"{' ...' if unseen.size > 10 else ''}; evaluate on data with the model's classes "
            f"({classes[:10].tolist()}{' ...' if classes.size > 10 else ''})"
        )
    metrics = evaluation_metrics(y, model.predict(X), model.coef_)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"samples   {metrics['n_samples']}")
        print(f"error     {metrics['error']:.2f} %")
        print(f"micro-F1  {metrics['micro_f1']:.2f} %")
        print(f"macro-F1  {metrics['macro_f1']:.2f} %")
        print(f"density   {metrics['density']:.2f} %")
    return 0


def _train_distributed(argv) -> int:
    """``xcsvm train --distributed ...``: options and training of :mod:`xcsvm.distributed.cli`."""
    try:
        from xcsvm.distributed.cli import add_train_arguments
        from xcsvm.distributed.cli import train as distributed_train
    except ImportError as error:
        print(
            "xcsvm: error: --distributed needs xcsvm.distributed and MPI (pip install mpi4py mpich), "
            f"which cannot be imported: {error}",
            file=sys.stderr,
        )
        return 2
    parser = add_train_arguments(argparse.ArgumentParser(prog="xcsvm train --distributed"))
    args = parser.parse_args(argv)
    args.command, args.distributed = "train", True
    distributed_train(args)
    return 0


def main(argv=None) -> int:
    """Entry point of the ``xcsvm`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"] and "--distributed" in argv:
        return _train_distributed([a for a in argv[1:] if a != "--distributed"])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "predict":
            return _predict(args)
        return _evaluate(args)
    except (
        DataFormatError,
        ModelFormatError,
        ValueError,
        TypeError,
        FileNotFoundError,
        OSError,
    ) as error:
        print(f"xcsvm: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
