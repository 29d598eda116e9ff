"""Scaled Tables III.3 / III.4 on generated LSHTC-like data.

Test error, micro-F1, macro-F1 (Table III.4) and model density (Table III.3) of OVR
(LIBLINEAR's L2-regularised hinge loss, through :class:`sklearn.svm.LinearSVC`), CS, WW and
LLW over log10(C) in {-3, ..., 1}, with the thesis' stopping tolerance 0.1. Entries of a
solver that hit ``max_iter`` are marked with ``*`` as the thesis marks LLW runs that did
not converge within a day.

Usage::

    python -m xcsvm.experiments.reproduce --quick --out reports/xcsvm   # seconds
    python -m xcsvm.experiments.reproduce --out reports/xcsvm           # larger data, ~2 minutes
    python -m xcsvm.experiments.reproduce --shape lshtc_small --out DIR  # Table III.2's LSHTC-small shape

``--shape lshtc_small`` generates data of LSHTC-small's shape (4 463 training / 1 858 test
documents, 1 139 classes, 51 033 features; ``shared_datasets.load("lshtc_like",
shape_of="lshtc_small")``) with the same class-vocabulary setting.

Writes ``summary.md``, ``results.csv`` and ``tables_III3_III4.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from xcsvm._atomic import atomic_write

SOLVERS = ("OVR", "CS", "WW", "LLW")
SIZES = {
    True: dict(n_train=2000, n_test=1000, n_features=5000, n_classes=50),
    False: dict(n_train=10000, n_test=2500, n_features=20000, n_classes=200),
}


def _make_data(n_train, n_test, n_features, n_classes, seed):
    from shared_datasets import make_lshtc_like

    # The class-vocabulary setting of benchmarks/bench_liblinear.py (BENCHMARKS.md explains it):
    # each class draws its topical words from 8 d / K words of its own, shared words come from
    # the 10 % most frequent ones.
    X, y = make_lshtc_like(
        n_samples=n_train + n_test,
        n_features=n_features,
        n_classes=n_classes,
        topic_size=min(n_features, 8 * n_features // n_classes),
        background_size=n_features // 10,
        random_state=seed,
    )
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _density(coef):
    """Share of weights above rounding level, ``|w| > 1e-12 max|W|``, in %.

    Dual coordinate ascent leaves ~1e-17 residues where a sample's contribution was added and
    removed again (BENCHMARKS.md); counting them would overstate LIBLINEAR's density.
    """
    coef = np.abs(np.asarray(coef))
    scale = coef.max() if coef.size else 0.0
    return 100 * float(np.count_nonzero(coef > 1e-12 * scale)) / max(coef.size, 1)


def _estimator(solver, C, max_iter, n_jobs, seed):
    from sklearn.svm import LinearSVC

    from xcsvm import CSClassifier, LLWClassifier, WWClassifier

    if solver == "OVR":
        return LinearSVC(
            C=C,
            loss="hinge",
            dual=True,
            tol=0.1,
            max_iter=max_iter,
            random_state=seed,
            fit_intercept=False,
        )
    cls = {"CS": CSClassifier, "WW": WWClassifier, "LLW": LLWClassifier}[solver]
    return cls(
        C=C, tol=0.1, max_iter=max_iter, n_jobs=n_jobs, random_state=seed, fit_intercept=False
    )


def _make_shaped_data(shape_of, seed):
    import shared_datasets
    from shared_datasets.synthetic import LSHTC_SHAPES

    n_train, n_test, n_classes, n_features = LSHTC_SHAPES[shape_of]
    X_train, y_train, X_test, y_test = shared_datasets.load(
        "lshtc_like",
        shape_of=shape_of,
        topic_size=min(n_features, 8 * n_features // n_classes),
        background_size=n_features // 10,
        random_state=seed,
    )
    size = dict(
        n_train=X_train.shape[0],
        n_test=X_test.shape[0],
        n_features=n_features,
        n_classes=n_classes,
        shape_of=shape_of,
    )
    return (X_train, y_train, X_test, y_test), size


def run(
    quick=True,
    out=Path("reports/xcsvm"),
    seed=0,
    n_jobs=1,
    max_iter=None,
    progress=True,
    shape_of=None,
    exponents=range(-3, 2),
    solvers=SOLVERS,
    llw_max_iter=None,
):
    """Run the experiment and write the report; returns the list of result rows.

    ``shape_of`` ("lshtc_small", ...) replaces the quick/full sizes by a shape of Table III.2;
    ``llw_max_iter`` caps LLW's epochs separately (its epochs cost ~K times WW's on many classes).
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import f1_score
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    max_iter = max_iter or (50 if quick else 300)
    if shape_of is None:
        size = SIZES[quick]
        X_train, y_train, X_test, y_test = _make_data(**size, seed=seed)
    else:
        (X_train, y_train, X_test, y_test), size = _make_shaped_data(shape_of, seed)
    exponents, solvers = list(exponents), list(solvers)
    rows = []
    jobs = [(e, s) for e in exponents for s in solvers]
    for exponent, solver in tqdm(jobs, desc="Tables III.3/III.4", disable=not progress):
        epochs = llw_max_iter if solver == "LLW" and llw_max_iter else max_iter
        model = _estimator(solver, 10.0**exponent, epochs, n_jobs, seed)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        predicted = model.predict(X_test)
        coef = model.coef_
        rows.append(
            {
                "solver": solver,
                "log10_C": exponent,
                "error": 100 * float(np.mean(predicted != y_test)),
                "micro_f1": 100 * float(f1_score(y_test, predicted, average="micro")),
                "macro_f1": 100 * float(f1_score(y_test, predicted, average="macro")),
                "density": _density(coef),
                "seconds": seconds,
                "converged": converged,
                "n_iter": int(np.max(model.n_iter_)),
                "max_iter": epochs,
                "dual_gap": float(getattr(model, "dual_gap_", float("nan"))),
            }
        )
    _write_csv(out / "results.csv", rows)
    _plot(out / "tables_III3_III4.png", rows)
    _write_summary(out / "summary.md", rows, size, quick, max_iter)
    if progress:
        print(f"total fit seconds: {sum(r['seconds'] for r in rows):.1f}")
    return rows


def _atomic_write(path: Path, write):
    """Write a text file through the package's :func:`xcsvm._atomic.atomic_write`."""
    atomic_write(path, write, binary=False, what="result file")


def _save_figure(figure, path: Path):
    """Save ``figure`` as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        atomic_write(
            path, lambda stream: figure.savefig(stream, format="png", dpi=110), what="figure"
        )
    finally:
        plt.close(figure)


def _write_csv(path, rows):
    def write(stream):
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(path, write)


def _table(rows, metrics):
    solvers = [s for s in SOLVERS if any(r["solver"] == s for r in rows)]
    header = "| log10(C) | " + " | ".join(f"{m} {s}" for m in metrics for s in solvers) + " |"
    lines = [header, "|" + "---|" * (1 + len(metrics) * len(solvers))]
    for exponent in sorted({r["log10_C"] for r in rows}):
        cells = []
        for metric in metrics:
            for solver in solvers:
                row = next(r for r in rows if r["solver"] == solver and r["log10_C"] == exponent)
                best = min if metric in ("error", "density") else max
                column = [r[metric] for r in rows if r["log10_C"] == exponent]
                mark = "**" if row[metric] == best(column) and metric != "density" else ""
                cells.append(f"{mark}{row[metric]:.2f}{mark}{'' if row['converged'] else '*'}")
        lines.append(f"| {exponent} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_summary(path, rows, size, quick, max_iter):
    best = {
        s: min((r for r in rows if r["solver"] == s), key=lambda r: r["error"])
        for s in SOLVERS
        if any(r["solver"] == s for r in rows)
    }
    mode = f"shape of {size['shape_of']}" if "shape_of" in size else ("quick" if quick else "full")
    llw_caps = {r["max_iter"] for r in rows if r["solver"] == "LLW"}
    llw_cap = (
        f" (LLW: at most {llw_caps.pop()})"
        if len(llw_caps) == 1 and max_iter not in llw_caps
        else ""
    )
    text = [
        "# xcsvm: scaled Tables III.3 / III.4 on LSHTC-like data",
        "",
        f"Data: `shared_datasets.make_lshtc_like` with class vocabularies "
        f"(topic_size={min(size['n_features'], 8 * size['n_features'] // size['n_classes'])}, "
        f"background_size={size['n_features'] // 10}), {size['n_train']} training and "
        f"{size['n_test']} test documents, {size['n_features']} features, {size['n_classes']} classes "
        f"({mode} mode). No intercept (the thesis' setting). Stopping tolerance "
        f"0.1, at most {max_iter} epochs{llw_cap}; `*` = stopped by max_iter. Bold: best of the row. Density: "
        "weights with |w| > 1e-12 max|W|. OVR is LIBLINEAR's hinge-loss one-vs-rest "
        "(`LinearSVC(loss='hinge')`).",
        "",
        "## Test error and model density in % (Table III.3)",
        "",
        _table(rows, ["error", "density"]),
        "",
        "## Micro-F1 and macro-F1 in % (Table III.4)",
        "",
        _table(rows, ["micro_f1", "macro_f1"]),
        "",
        "## Best C per solver",
        "",
        "| solver | log10(C) | error | macro-F1 | density | seconds |",
        "|---|---|---|---|---|---|",
        *[
            f"| {s} | {b['log10_C']} | {b['error']:.2f} | {b['macro_f1']:.2f} | {b['density']:.2f} | "
            f"{b['seconds']:.2f} |"
            for s, b in best.items()
        ],
        "",
        "Thesis (LSHTC-small..2011): WW and CS beat OVR in error and F1 with models up to an order "
        "of magnitude sparser; LLW is weak and dense. Compare the rows above.",
        "",
        "![tables](tables_III3_III4.png)",
        "",
    ]
    _atomic_write(path, lambda stream: stream.write("\n".join(text)))


def _plot(path, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [
        ("error", "test error (%)"),
        ("micro_f1", "micro-F1 (%)"),
        ("macro_f1", "macro-F1 (%)"),
        ("density", "model density (%)"),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for axis, (metric, label) in zip(axes, metrics):
        for solver in [s for s in SOLVERS if any(r["solver"] == s for r in rows)]:
            points = sorted((r["log10_C"], r[metric]) for r in rows if r["solver"] == solver)
            axis.plot(*zip(*points), marker="o", label=solver)
        axis.set_xlabel("log10(C)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    _save_figure(figure, path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small data (seconds on 2 cores)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="OpenMP threads (1: WW's sequential order, which needs far fewer epochs; see BENCHMARKS.md)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument(
        "--shape",
        choices=["lshtc_small"],
        default=None,
        help="data of the shape of a Table III.2 data set instead of the quick/full sizes",
    )
    parser.add_argument("--log10-C", type=int, nargs="+", default=list(range(-3, 2)))
    parser.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    parser.add_argument("--llw-max-iter", type=int, default=None, help="LLW's own epoch cap")
    args = parser.parse_args(argv)
    rows = run(
        quick=args.quick,
        out=args.out,
        seed=args.seed,
        n_jobs=args.n_jobs,
        max_iter=args.max_iter,
        shape_of=args.shape,
        exponents=args.log10_C,
        solvers=args.solvers,
        llw_max_iter=args.llw_max_iter,
    )
    print(f"wrote {args.out / 'summary.md'}, results.csv, tables_III3_III4.png ({len(rows)} fits)")


if __name__ == "__main__":
    main()
