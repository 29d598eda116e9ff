"""Command line of distributed training: ``mpiexec -n P python -m xcsvm.distributed train ...``.

``xcsvm train --distributed ...`` (the single-machine CLI) delegates to
:func:`train`. Every rank runs the same command; rank 0 writes the model
(the single-machine format of :func:`xcsvm.io.write_model`, loadable with
:func:`xcsvm.io.load_model`) and, with ``--report``, a JSON file with the
objectives, epochs, timings and the bytes each kind of message cost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

__all__ = ["add_train_arguments", "build_parser", "train", "main"]


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of distributed training to ``parser`` (also used by ``xcsvm train``)."""
    parser.add_argument(
        "train_file", help="training data in svmlight format (same path on every rank)"
    )
    parser.add_argument("-m", "--model", required=True, help="model file to write on rank 0 (.npz)")
    parser.add_argument("-f", "--formulation", choices=("ww", "llw"), default="ww")
    parser.add_argument(
        "-C", "--C", dest="C", type=float, default=1.0, help="regularisation parameter"
    )
    parser.add_argument(
        "--tol", type=float, default=0.1, help="stop when the violation is below (0.1)"
    )
    parser.add_argument("--max-iter", type=int, default=1000, help="maximum number of epochs")
    parser.add_argument(
        "--threads",
        "--n-jobs",
        dest="threads",
        type=int,
        default=None,
        help="OpenMP threads per rank (default: OMP_NUM_THREADS or 1)",
    )
    parser.add_argument(
        "--exchange",
        choices=("auto", "sparse", "dense"),
        default="auto",
        help="WW bundle exchange: non-zeros only, whole rows, or the smaller",
    )
    parser.add_argument(
        "--data-mode",
        choices=("check", "broadcast"),
        default="check",
        help="every rank reads and compares digests, or rank 0 reads and broadcasts",
    )
    parser.add_argument(
        "--n-features", type=int, default=None, help="number of features of the file"
    )
    parser.add_argument(
        "--no-shrinking",
        dest="shrinking",
        action="store_false",
        help="visit every dual variable in every epoch (default: shrinking, Sec. 4.1.1)",
    )
    parser.add_argument(
        "--no-intercept",
        dest="fit_intercept",
        action="store_false",
        help="do not learn an intercept (default: learn one, as the estimators)",
    )
    parser.add_argument("--intercept-scaling", type=float, default=1.0)
    parser.add_argument(
        "--llw-margin",
        "--margin",
        dest="llw_margin",
        choices=("thesis", "lee_lin_wahba"),
        default="thesis",
        help="LLW margin: 1 (thesis) or 1/(C-1) (Lee, Lin and Wahba)",
    )
    parser.add_argument("--random-state", type=int, default=None)
    parser.add_argument(
        "--report", default=None, help="JSON file with objectives, timings and bytes"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="-v: progress bar on rank 0; -vv: also objectives per epoch",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Parser of ``python -m xcsvm.distributed``."""
    parser = argparse.ArgumentParser(
        prog="python -m xcsvm.distributed",
        description="Distributed WW / LLW training over MPI. Run under mpiexec.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_train_arguments(commands.add_parser("train", help="train a model"))
    return parser


def _write_json(path, content):
    from xcsvm._atomic import atomic_write

    atomic_write(
        path, lambda stream: json.dump(content, stream, indent=1), binary=False, what="report"
    )


def train(args) -> dict | None:
    """Train from parsed options (a namespace from :func:`add_train_arguments`) or an argv list.

    Must run on every rank. Returns the report dict on rank 0, None
    elsewhere. With several ranks an error on any rank aborts the whole job
    (:func:`~xcsvm.distributed.exchange.abort_on_error`); with one rank it is
    raised as usual.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import dump_svmlight_file, load_iris
    >>> folder = tempfile.mkdtemp()
    >>> X, y = load_iris(return_X_y=True)
    >>> dump_svmlight_file(X, y, os.path.join(folder, "iris.svm"))
    >>> report = train([os.path.join(folder, "iris.svm"), "-m", os.path.join(folder, "m.npz"),
    ...                 "-C", "0.1", "--tol", "0.01", "--random-state", "0"])
    >>> report["n_ranks"], report["converged"]
    (1, True)
    """
    from .exchange import abort_on_error

    if not isinstance(args, argparse.Namespace):
        args = add_train_arguments(argparse.ArgumentParser(prog="xcsvm-distributed")).parse_args(
            args
        )
    return abort_on_error(lambda: _train(args))


def _train(args) -> dict | None:
    from mpi4py import MPI

    from xcsvm.estimators import usable_cores
    from xcsvm.io import write_model

    from .data import load_svmlight_everywhere
    from .exchange import CountingComm, announce_ranks
    from .solver import fit_distributed

    comm = CountingComm(MPI.COMM_WORLD)
    n_threads = args.threads or int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    n_threads = max(
        1, min(n_threads, usable_cores())
    )  # more threads than cores only time-slice them
    if comm.rank == 0:
        directory = os.path.dirname(os.path.abspath(args.model))
        if not os.path.isdir(directory):
            raise FileNotFoundError(
                f"cannot write model {args.model!r}: folder {directory} does not exist"
            )
    announce_ranks(comm)
    start = time.perf_counter()
    X, y = load_svmlight_everywhere(args.train_file, comm, args.data_mode, args.n_features)
    load_seconds = time.perf_counter() - start
    params = dict(
        C=args.C,
        tol=args.tol,
        max_iter=args.max_iter,
        random_state=args.random_state,
        fit_intercept=args.fit_intercept,
        intercept_scaling=args.intercept_scaling,
        shrinking=args.shrinking,
    )
    fit = fit_distributed(
        X,
        y,
        formulation=args.formulation,
        n_threads=n_threads,
        exchange=args.exchange,
        llw_margin=args.llw_margin,
        verbose=args.verbose,
        comm=comm,
        **params,
    )
    train_seconds = time.perf_counter() - start - load_seconds
    if comm.rank != 0:
        return None
    if not fit.converged:  # rank 0 only: once, as the single-machine CLI warns
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"distributed {args.formulation.upper()} did not converge in max_iter={args.max_iter} epochs "
            f"(last violation {fit.violation:.3g} > tol={args.tol}; relative duality gap {fit.dual_gap:.3g}); "
            "the model was written anyway -- increase --max-iter or --tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    fit_info = {
        "n_iter": fit.n_iter,
        "dual_gap": fit.dual_gap,
        "primal_objective": fit.primal,
        "dual_objective": fit.dual,
        "converged": fit.converged,
        "n_ranks": comm.size,
    }
    # The estimators call the LLW margin option "margin".
    margin_param = {} if args.formulation == "ww" else {"margin": args.llw_margin}
    assert fit.coef is not None and fit.intercept is not None  # rank 0 holds the model
    write_model(
        args.model,
        coef=fit.coef,
        intercept=fit.intercept,
        classes=fit.classes,
        formulation=args.formulation,
        params={**params, **margin_param},
        fit_info=fit_info,
    )
    report = {
        **fit_info,
        "formulation": args.formulation,
        "n_threads": n_threads,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_classes": int(fit.classes.size),
        "model_nnz": int(fit.coef.nnz),
        "violation": fit.violation,
        "load_seconds": load_seconds,
        "train_seconds": train_seconds,
        "epoch_seconds": fit.epoch_seconds,
        "bytes_per_epoch_rank0": fit.bytes_per_epoch,
        "bytes_sent_rank0": fit.bytes_sent,
        "owned": [o.tolist() for o in fit.owned],
        "exchange": args.exchange,
    }
    if args.report:
        _write_json(args.report, report)
    if args.verbose:
        print(
            f"[xcsvm] {comm.size} ranks, {fit.n_iter} epochs, gap {fit.dual_gap:.3e}, "
            f"model written to {args.model}",
            flush=True,
        )
    return report


def main(argv=None) -> int:
    """Entry of ``python -m xcsvm.distributed``; any error on any rank aborts the job."""
    args = build_parser().parse_args(argv)

    try:
        if args.command == "train":
            train(args)
        return 0
    except Exception as error:  # only reached with a single rank: a plain CLI error
        print(f"xcsvm: error: {error}", file=sys.stderr)
        return 1
