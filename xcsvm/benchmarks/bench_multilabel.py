"""Multi-label WW (Eq. III.17 reading) against binary relevance LIBLINEAR, napkinXC and Omikuji.

Every solver runs once, in its own process (peak memory is its own), on the same cached
split of ``shared_datasets.make_lshtc_multilabel``. Reported: P@1/3/5, nDCG@5, PSP@5,
macro-F1 and micro-F1 of each method's own decision rule, train time, model size (non-zero
weights and bytes as CSR), peak resident memory. Writes a markdown table and a JSON file.

    python benchmarks/bench_multilabel.py --out benchmarks/results/multilabel

Solvers: ``ww`` (``--threads`` OpenMP threads), ``ww1`` (one thread), ``br:s1`` / ``br:s3``
(one-vs-rest = binary relevance LIBLINEAR ``-s 1`` / ``-s 3``, one label at a time, one
thread), ``napkinxc:plt``, ``omikuji`` (Parabel-like trees; both where they import).
Decision rules for macro-F1: WW its ``predict`` (``decision_rule_``; extra rows give the other
candidate rules of ``decision_rules_``, all fitted on the training data), BR a positive score,
napkinXC / Omikuji a probability of at least 0.5; every rule also keeps each sample's top label.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import CACHE, machine_note, markdown_table, peak_rss_mib  # noqa: E402


def data(
    n_train,
    n_test,
    n_features,
    n_labels,
    structure,
    branching,
    mean_labels,
    topic_fraction=0.5,
    seed=0,
):
    """Cached train/test split of ``make_lshtc_multilabel`` (CSR X, CSR Y) and its path."""
    name = f"ml_{n_train}_{n_test}_{n_features}_{n_labels}_{structure}_{branching}_{mean_labels}_{seed}"
    name += ".npz" if topic_fraction == 0.5 else f"_t{topic_fraction}.npz"
    path = CACHE / name
    if not path.exists():
        from shared_datasets import make_lshtc_multilabel

        CACHE.mkdir(parents=True, exist_ok=True)
        X, Y = make_lshtc_multilabel(
            n_samples=n_train + n_test,
            n_features=n_features,
            n_labels=n_labels,
            label_structure=structure,
            branching=branching,
            mean_labels=mean_labels,
            topic_fraction=topic_fraction,
            random_state=seed,
        )
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            data=X.data,
            indices=X.indices,
            indptr=X.indptr,
            shape=X.shape,
            ydata=Y.data,
            yindices=Y.indices,
            yindptr=Y.indptr,
            yshape=Y.shape,
            n_train=n_train,
        )
        os.replace(tmp, path)
    return path


def load(path):
    with np.load(path) as f:
        X = sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        Y = sp.csr_matrix((f["ydata"], f["yindices"], f["yindptr"]), shape=tuple(f["yshape"]))
        n_train = int(f["n_train"])
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def with_top_label(scores, predicted):
    predicted = np.asarray(predicted, dtype=bool).copy()
    predicted[np.arange(scores.shape[0]), np.argmax(scores, axis=1)] = True
    return predicted


def evaluate(Ytr, Yte, scores, predicted):
    from sklearn.metrics import f1_score

    from xcsvm.metrics import (
        ndcg_at_k,
        precision_at_k,
        propensities,
        propensity_scored_precision_at_k,
    )

    row = {f"p@{k}": 100 * precision_at_k(Yte, scores, k) for k in (1, 3, 5)}
    row["ndcg@5"] = 100 * ndcg_at_k(Yte, scores, 5)
    row["psp@5"] = 100 * propensity_scored_precision_at_k(
        Yte, scores, 5, propensities=propensities(Ytr)
    )
    predicted = sp.csr_matrix(predicted)
    row["macro_f1"] = 100 * f1_score(Yte, predicted, average="macro", zero_division=0)
    row["micro_f1"] = 100 * f1_score(Yte, predicted, average="micro", zero_division=0)
    return row


def model_size(coef):
    coef = sp.csr_matrix(coef)
    coef.eliminate_zeros()
    dense = coef.shape[0] * coef.shape[1] * 8
    return {
        "nnz": int(coef.nnz),
        "density": 100 * coef.nnz / max(dense // 8, 1),
        "csr_mib": (coef.data.nbytes + coef.indices.nbytes + coef.indptr.nbytes) / 2**20,
        "dense_mib": dense / 2**20,
    }


def child(solver, path, C, threads, max_iter):
    Xtr, Ytr, Xte, Yte = load(path)
    rss_data = peak_rss_mib()
    K = Ytr.shape[1]
    row = {"solver": solver, "C": C, "threads": threads}
    extra = []
    if solver in ("ww", "ww1"):
        from xcsvm import WWClassifier

        model = WWClassifier(
            C=C, fit_intercept=False, n_jobs=threads, max_iter=max_iter, random_state=0
        )
        start = time.perf_counter()
        model.fit(Xtr, Ytr)
        row["train_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        scores = model.decision_function(Xte)
        predicted = model.predict(Xte)
        row["predict_seconds"] = time.perf_counter() - start
        row.update(
            n_iter=model.n_iter_,
            dual_gap=model.dual_gap_,
            converged=bool(model.history_[-1]["violation"] < model.tol),
        )
        row.update(model_size(model.coef_))
        # Sparse storage: decision function from a CSR coef_ against the dense one.
        dense_seconds = row["predict_seconds"]
        model.sparsify()
        start = time.perf_counter()
        np.testing.assert_allclose(model.decision_function(Xte), scores, atol=1e-9)
        row["predict_seconds_csr"] = time.perf_counter() - start
        row["predict_seconds_dense"] = dense_seconds
        # The other candidate rules of predict (fitted on the training data as well).
        from xcsvm.multilabel import apply_decision_rule

        for rule, value in model.decision_rules_.items():
            if rule != model.decision_rule_[0]:
                predicted_rule = apply_decision_rule(scores, rule, value)
                extra.append(
                    dict(
                        row,
                        solver=f"{solver} rule={rule}({value:.3g})",
                        **evaluate(Ytr, Yte, scores, predicted_rule),
                    )
                )
        row["solver"] = f"{solver} rule={model.decision_rule_[0]}({model.decision_rule_[1]:.3g})"
    elif solver.startswith("br:"):
        from liblinear.liblinearutil import parameter, problem, train

        s = solver.split(":")[1][1:]
        W = np.zeros((K, Xtr.shape[1]))
        Yc = sp.csc_matrix(Ytr)
        start = time.perf_counter()
        for k in range(K):
            y = -np.ones(Xtr.shape[0])
            y[Yc.indices[Yc.indptr[k] : Yc.indptr[k + 1]]] = 1.0
            m = train(problem(y, Xtr), parameter(f"-s {s} -c {C} -q"))
            w, _ = m.get_decfun()
            w = np.asarray(w[: Xtr.shape[1]])
            W[k, : w.size] = w if m.get_labels()[0] == 1 else -w
        row["train_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        scores = np.asarray(Xte @ W.T)
        predicted = with_top_label(scores, scores > 0)
        row["predict_seconds"] = time.perf_counter() - start
        W[np.abs(W) < 1e-12 * np.abs(W).max()] = 0.0
        row.update(model_size(W))
    elif solver == "napkinxc:plt":
        from napkinxc.models import PLT

        model = PLT(str(CACHE / f"napkinxc_{os.getpid()}"), threads=threads, seed=0)
        labels = [
            Ytr.indices[Ytr.indptr[i] : Ytr.indptr[i + 1]].tolist() for i in range(Ytr.shape[0])
        ]
        start = time.perf_counter()
        model.fit(Xtr, labels)
        row["train_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        scores = np.full((Xte.shape[0], K), -1.0)
        for i, pairs in enumerate(model.predict_proba(Xte, top_k=K)):
            for label, p in pairs:
                scores[i, label] = p
        predicted = with_top_label(scores, scores >= 0.5)
        row["predict_seconds"] = time.perf_counter() - start
        size = sum(
            f.stat().st_size
            for f in Path(
                model._model_path
                if hasattr(model, "_model_path")
                else str(CACHE / f"napkinxc_{os.getpid()}")
            ).rglob("*")
            if f.is_file()
        )
        row["file_mib"] = size / 2**20
    elif solver == "omikuji":
        import omikuji

        train_file = CACHE / f"omikuji_{os.getpid()}.txt"
        with open(train_file, "w") as out:
            out.write(f"{Xtr.shape[0]} {Xtr.shape[1]} {K}\n")
            for i in range(Xtr.shape[0]):
                lab = ",".join(map(str, Ytr.indices[Ytr.indptr[i] : Ytr.indptr[i + 1]]))
                feats = " ".join(
                    f"{j}:{v:.6g}"
                    for j, v in zip(
                        Xtr.indices[Xtr.indptr[i] : Xtr.indptr[i + 1]],
                        Xtr.data[Xtr.indptr[i] : Xtr.indptr[i + 1]],
                    )
                )
                out.write(f"{lab} {feats}\n")
        hyper = omikuji.Model.default_hyper_param()
        start = time.perf_counter()
        model = omikuji.Model.train_on_data(str(train_file), hyper, n_threads=threads)
        row["train_seconds"] = time.perf_counter() - start
        train_file.unlink()
        start = time.perf_counter()
        scores = np.full((Xte.shape[0], K), -1.0)
        for i in range(Xte.shape[0]):
            lo, hi = Xte.indptr[i], Xte.indptr[i + 1]
            for label, p in model.predict(
                list(zip(Xte.indices[lo:hi].tolist(), Xte.data[lo:hi].tolist())), top_k=K
            ):
                scores[i, label] = p
        predicted = with_top_label(scores, scores >= 0.5)
        row["predict_seconds"] = time.perf_counter() - start
        folder = CACHE / f"omikuji_model_{os.getpid()}"
        model.save(str(folder))
        row["file_mib"] = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    else:
        raise SystemExit(f"unknown solver {solver}")
    row.update(evaluate(Ytr, Yte, scores, predicted))
    row["rss_after_data_mib"] = rss_data
    row["peak_rss_mib"] = peak_rss_mib()
    for r in extra:
        r["peak_rss_mib"] = row["peak_rss_mib"]
    print(json.dumps([row, *extra]))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--n-features", type=int, default=50000)
    parser.add_argument("--n-labels", type=int, default=200)
    parser.add_argument("--structure", choices=["hierarchy", "zipf"], default="hierarchy")
    parser.add_argument("--branching", type=int, default=6)
    parser.add_argument("--mean-labels", type=float, default=3.0)
    parser.add_argument(
        "--topic-fraction", type=float, default=0.5, help="share of topical tokens (generator)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument(
        "--solvers", nargs="+", default=["br:s1", "br:s3", "ww", "ww1", "napkinxc:plt", "omikuji"]
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "multilabel")
    parser.add_argument(
        "--child",
        nargs=5,
        metavar=("SOLVER", "DATA", "C", "THREADS", "MAX_ITER"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.child:
        solver, path, C, threads, max_iter = args.child
        return child(solver, Path(path), float(C), int(threads), int(max_iter))
    note = machine_note()
    path = data(
        args.n_train,
        args.n_test,
        args.n_features,
        args.n_labels,
        args.structure,
        args.branching,
        args.mean_labels,
        args.topic_fraction,
    )
    Xtr, Ytr, _, _ = load(path)
    header = (
        f"make_lshtc_multilabel: n_train={args.n_train}, n_test={args.n_test}, d={args.n_features}, "
        f"K={args.n_labels}, structure={args.structure}, branching={args.branching}, "
        f"mean_labels={args.mean_labels}, topic_fraction={args.topic_fraction}; {Xtr.nnz / Xtr.shape[0]:.1f} non-zeros and "
        f"{Ytr.nnz / Ytr.shape[0]:.2f} labels per training row; C={args.C:g}, no intercept, tol 0.1; {note}"
    )
    del Xtr, Ytr
    rows = []
    for solver in args.solvers:
        threads = 1 if solver in ("ww1",) or solver.startswith("br:") else args.threads
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                solver,
                str(path),
                str(args.C),
                str(threads),
                str(args.max_iter),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            print(f"{solver} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            rows.append(
                {
                    "solver": solver,
                    "error": out.stderr.strip().splitlines()[-1][:200] if out.stderr else "?",
                }
            )
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        for r in result:
            r["load"] = os.getloadavg()[0]
        rows.extend(result)
        print(json.dumps(result[0]), flush=True)
    reference = next((r for r in rows if r["solver"] == "br:s1" and "train_seconds" in r), None)
    rows = [dict(r, solver=r["solver"]) for r in rows]
    for r in rows:
        if reference and "train_seconds" in r:
            r["time_vs_br_s1"] = r["train_seconds"] / reference["train_seconds"]
    columns = [
        "solver",
        "threads",
        "train_seconds",
        "time_vs_br_s1",
        "p@1",
        "p@3",
        "p@5",
        "ndcg@5",
        "psp@5",
        "macro_f1",
        "micro_f1",
        "nnz",
        "density",
        "csr_mib",
        "dense_mib",
        "file_mib",
        "peak_rss_mib",
        "rss_after_data_mib",
        "predict_seconds",
        "predict_seconds_csr",
        "n_iter",
        "dual_gap",
        "load",
    ]
    formats = dict.fromkeys(columns, "{:.2f}")
    formats.update(
        solver="{}", threads="{}", n_iter="{}", nnz="{}", dual_gap="{:.4f}", load="{:.1f}"
    )
    table = markdown_table(rows, columns, formats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # name + suffix, not with_suffix: "multilabel_c0.1" must not lose its ".1"
    args.out.parent.joinpath(args.out.name + ".md").write_text(header + "\n\n" + table + "\n")
    args.out.parent.joinpath(args.out.name + ".json").write_text(
        json.dumps({"header": header, "rows": rows}, indent=1)
    )
    print(header)
    print(table)


if __name__ == "__main__":
    main()
