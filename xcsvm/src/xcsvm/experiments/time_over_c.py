"""Fig. III.3: training time over C, with a shrinking ablation that explains the C trend.

Fits WW and CS (xcsvm) and OVR (LIBLINEAR's hinge-loss one-vs-rest through
:class:`sklearn.svm.LinearSVC`, as in :mod:`xcsvm.experiments.reproduce`) over
log10(C) in {-3, ..., 1} on the data of ``reproduce --shape lshtc_small`` (generated documents
of LSHTC-small's shape; no intercept, stopping tolerance 0.1, at most 300 epochs). WW runs
with 1 and 2 threads (``n_jobs``); CS trains on one thread whatever ``n_jobs`` says (its block
steps are sequential: the estimator caps it), so it runs once. Every xcsvm fit is repeated with
``shrinking=False`` (the ablation). Per fit it records

- wall seconds of ``fit``, epochs (``n_iter_``), the relative duality gap;
- from ``history_``: the dual variables visited per epoch (total and mean, and the mean as a
  share of all variables: n (K − 1) for WW, n K for CS, whose blocks count ``y_i``);
- from the fitted duals (``_alpha``, kept with ``warm_start=True``; a first fit is a cold
  start): the share of dual variables at the bound C, strictly inside (0, C) and at 0. WW's
  variables ``alpha[i, c]``, ``c != y_i``, each have the box [0, C]. CS's box is per sample,
  ``sum_c alpha[i, c] <= C``, so for CS the shares count *samples* whose block sum is at C,
  inside, or 0, and ``share_nonzero_variables`` gives the non-zero ``alpha[i, c]``.

Usage::

    python -m xcsvm.experiments.time_over_c --repeats 3 --out xcsvm/reproduction/fig_III3
    python -m xcsvm.experiments.time_over_c --quick --out /tmp/fig_III3   # tiny data, seconds

``--tabulate-only`` rewrites the summary and the figure from an existing ``results.csv``.
Writes ``results.csv`` (every fit), ``summary.md`` and ``time_over_c.png`` (seconds and visited
variables per epoch over log10(C), per solver, thread count and shrinking) into ``--out``.
The seconds are wall times: run it on an otherwise idle machine when they matter.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from xcsvm.experiments.reproduce import (
    _atomic_write,
    _estimator,
    _make_data,
    _make_shaped_data,
    _save_figure,
)

QUICK_SIZE = dict(n_train=300, n_test=150, n_features=400, n_classes=6)


def dual_shares(formulation, alpha, y, upper):
    """Shares of the dual variables at the bound, strictly inside, and at 0 (they sum to 1).

    ``alpha`` (n, K) in the WW/CS layout, ``y`` (n,) class indices, ``upper`` (n,) the
    samples' bounds. WW: over the variables ``alpha[i, c]``, ``c != y_i``. CS: over the
    samples, by their block sum ``sum_c alpha[i, c]`` (the CS box is ``sum <= upper_i``).
    Returns ``(at_bound, inside, at_zero, nonzero_variables)``.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    n, n_classes = alpha.shape
    upper = np.asarray(upper, dtype=np.float64)
    variable = np.ones(alpha.shape, dtype=bool)
    variable[np.arange(n), np.asarray(y)] = False
    nonzero = float(np.count_nonzero(alpha[variable] > 0)) / max(n * (n_classes - 1), 1)
    if formulation == "ww":
        values = alpha[variable]
        bounds = np.broadcast_to(upper[:, None], alpha.shape)[variable]
    elif formulation == "cs":
        values, bounds = alpha.sum(axis=1), upper
    else:
        raise ValueError(f"formulation must be 'ww' or 'cs', got {formulation!r}")
    # box_step clips exactly to the bound; the relative slack only absorbs the block sum's rounding
    at_bound = values >= bounds * (1 - 1e-9)
    at_zero = values <= 0
    total = max(values.size, 1)
    return (
        float(np.count_nonzero(at_bound)) / total,
        float(np.count_nonzero(~at_bound & ~at_zero)) / total,
        float(np.count_nonzero(at_zero)) / total,
        nonzero,
    )


def configurations(exponents, threads):
    """The fits of one run: (log10 C, solver, n_jobs, shrinking), OVR once per C."""
    jobs: list[tuple[int, str, int, bool | None]] = []
    threads = list(threads)
    for exponent in exponents:
        for n_jobs in threads:
            for shrinking in (True, False):
                jobs.append((exponent, "WW", n_jobs, shrinking))
        for shrinking in (True, False):
            jobs.append((exponent, "CS", 1, shrinking))
        jobs.append((exponent, "OVR", 1, None))
    return jobs


def fit_one(solver, C, n_jobs, shrinking, data, max_iter, seed):
    """One fit and its row of ``results.csv``."""
    from sklearn.exceptions import ConvergenceWarning

    X_train, y_train, X_test, y_test = data
    model = _estimator(solver, C, max_iter, n_jobs, seed)
    if solver != "OVR":
        model.set_params(shrinking=shrinking, warm_start=True)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    row = {
        "solver": solver,
        "log10_C": round(float(np.log10(C))),
        "n_jobs": n_jobs,
        "shrinking": "" if shrinking is None else shrinking,
        "seconds": seconds,
        "epochs": int(np.max(model.n_iter_)),
        "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
        "error": 100 * float(np.mean(model.predict(X_test) != y_test)),
        "dual_gap": float(getattr(model, "dual_gap_", float("nan"))),
    }
    nan = float("nan")
    row.update(
        visited_total=nan,
        visited_mean=nan,
        visited_share=nan,
        visited_first=nan,
        seconds_per_epoch=seconds / max(row["epochs"], 1),
        epoch_seconds_total=nan,
        seconds_outside_epochs=nan,
        share_at_C=nan,
        share_inside=nan,
        share_at_0=nan,
        share_nonzero_variables=nan,
    )
    if solver != "OVR":
        n, n_classes = X_train.shape[0], model.classes_.shape[0]
        n_variables = n * (n_classes if solver == "CS" else n_classes - 1)
        visited = np.array([h["active"] for h in model.history_], dtype=np.int64)
        y_index = np.searchsorted(model.classes_, y_train)
        at_bound, inside, at_zero, nonzero = dual_shares(
            solver.lower(), model._alpha, y_index, np.full(n, C)
        )
        row.update(
            visited_total=int(visited.sum()),
            visited_mean=float(visited.mean()),
            visited_share=float(visited.mean()) / n_variables,
            visited_first=int(visited[0]),
            seconds_per_epoch=float(np.mean([h["seconds"] for h in model.history_])),
            epoch_seconds_total=float(np.sum([h["seconds"] for h in model.history_])),
            # set-up and the work after the epochs (clean-up of W, objectives, model storage)
            seconds_outside_epochs=seconds - float(np.sum([h["seconds"] for h in model.history_])),
            share_at_C=at_bound,
            share_inside=inside,
            share_at_0=at_zero,
            share_nonzero_variables=nonzero,
        )
    return row


def run(
    out,
    quick=False,
    exponents=range(-3, 2),
    threads=(1, 2),
    max_iter=300,
    seed=0,
    progress=True,
    repeats=1,
):
    """Fit every configuration, write ``results.csv``, ``summary.md``, ``time_over_c.png``.

    With ``repeats > 1`` every repeat runs all configurations once (so a drift of the machine's
    load reaches all of them alike); ``results.csv`` keeps every fit, the summary and the figure
    give the median seconds with their range.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        data = _make_data(**QUICK_SIZE, seed=seed)
        size = dict(QUICK_SIZE, mode="quick")
    else:
        data, size = _make_shaped_data("lshtc_small", seed)
        size["mode"] = "shape of lshtc_small"
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rows = []
    jobs = [(r, *job) for r in range(repeats) for job in configurations(exponents, threads)]
    for repeat, exponent, solver, n_jobs, shrinking in tqdm(
        jobs, desc="Fig. III.3", disable=not progress
    ):
        row = fit_one(solver, 10.0**exponent, n_jobs, shrinking, data, max_iter, seed)
        rows.append(dict(row, repeat=repeat))
    _write_csv(out / "results.csv", rows)
    summary = aggregate(rows)
    _write_summary(out / "summary.md", summary, size, max_iter, repeats)
    _plot(out / "time_over_c.png", summary)
    return rows


def aggregate(rows):
    """One row per configuration, with the median seconds over its repeats.

    The first repeat's row, with ``seconds``, ``seconds_per_epoch`` and the epoch-loop split
    replaced by their medians, and the range ``seconds_min``, ``seconds_max``.
    """
    groups: dict[tuple[int, str, int, object], list[dict]] = {}
    for row in rows:
        key = (row["log10_C"], row["solver"], row["n_jobs"], row["shrinking"])
        groups.setdefault(key, []).append(row)
    summary = []
    for group in groups.values():
        seconds = [r["seconds"] for r in group]
        summary.append(
            dict(
                group[0],
                seconds=float(np.median(seconds)),
                seconds_per_epoch=float(np.median([r["seconds_per_epoch"] for r in group])),
                epoch_seconds_total=float(np.median([r["epoch_seconds_total"] for r in group])),
                seconds_outside_epochs=float(
                    np.median([r["seconds_outside_epochs"] for r in group])
                ),
                seconds_min=min(seconds),
                seconds_max=max(seconds),
                repeats=len(group),
            )
        )
    return summary


def read_results(path):
    """The rows of a ``results.csv`` with their types (older files: derived time split)."""
    integers = ("log10_C", "n_jobs", "epochs", "repeat")
    rows = []
    with open(path, newline="") as stream:
        for raw in csv.DictReader(stream):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if key in integers:
                    row[key] = int(value)
                elif key == "solver":
                    row[key] = value
                elif key in ("visited_total", "visited_first"):  # counts; nan for OVR
                    number = float(value)
                    row[key] = int(number) if np.isfinite(number) else number
                elif key in ("converged", "shrinking"):
                    row[key] = {"True": True, "False": False}.get(value)
                else:
                    row[key] = float(value) if value != "" else float("nan")
            if "epoch_seconds_total" not in row:
                row["epoch_seconds_total"] = row["seconds_per_epoch"] * row["epochs"]
                if row["solver"] == "OVR":
                    row["epoch_seconds_total"] = float("nan")
                row["seconds_outside_epochs"] = row["seconds"] - row["epoch_seconds_total"]
            rows.append(row)
    return rows


def tabulate(out, size, max_iter=300):
    """Rewrite ``summary.md`` and ``time_over_c.png`` from ``out/results.csv`` (no fits)."""
    out = Path(out)
    rows = read_results(out / "results.csv")
    repeats = len({r.get("repeat", 0) for r in rows})
    _write_csv(out / "results.csv", rows)
    summary = aggregate(rows)
    _write_summary(out / "summary.md", summary, size, max_iter, repeats)
    _plot(out / "time_over_c.png", summary)
    return rows


def _write_csv(path, rows):
    def write(stream):
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(path, write)


def _label(row):
    if row["solver"] == "OVR":
        return "OVR"
    shrink = "" if row["shrinking"] else ", no shrinking"
    return f"{row['solver']} {row['n_jobs']}t{shrink}"


def _write_summary(path, rows, size, max_iter, repeats=1):
    lines = [
        "# xcsvm: Fig. III.3, training time over C, with the shrinking ablation",
        "",
        f"Data: {size['n_train']} training / {size['n_test']} test documents, "
        f"{size['n_features']} features, {size['n_classes']} classes ({size['mode']}). No "
        f"intercept, tol 0.1, at most {max_iter} epochs; `*` = stopped by max_iter. Seconds: wall "
        f"time of `fit`, median of {repeats} repeat(s) [min–max]; the other columns are the first "
        "repeat's; epoch loop = the epochs' own seconds (`history_`), outside = the rest of `fit` "
        "(set-up, clean-up of W, objectives), medians. visited: dual variables visited per epoch (mean; share of all "
        "variables). Shares of the duals at C / inside / at 0: WW per variable, CS per sample "
        "(block sum); CS nz = share of non-zero CS variables.",
        "",
        "| log C | fit | seconds | epoch loop / outside (s) | epochs | s/epoch | "
        "visited/epoch (share) | first epoch | at C / inside / at 0 (%) | CS nz (%) | error (%) | "
        "rel. gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = "" if r["converged"] else "*"
        split = (
            "—"
            if r["solver"] == "OVR"
            else f"{r['epoch_seconds_total']:.2f} / {r['seconds_outside_epochs']:.2f}"
        )
        if r["solver"] == "OVR":
            detail = "— | — | — | —"
        else:
            nz = f"{100 * r['share_nonzero_variables']:.1f}" if r["solver"] == "CS" else "—"
            detail = (
                f"{r['visited_mean']:.3g} ({100 * r['visited_share']:.1f} %) | {r['visited_first']} | "
                f"{100 * r['share_at_C']:.1f} / {100 * r['share_inside']:.1f} / "
                f"{100 * r['share_at_0']:.1f} | {nz}"
            )
        lines.append(
            f"| {r['log10_C']} | {_label(r)} | {r['seconds']:.2f} "
            f"[{r['seconds_min']:.2f}–{r['seconds_max']:.2f}] | "
            f"{split} | {r['epochs']}{mark} | "
            f"{r['seconds_per_epoch']:.3f} | {detail} | {r['error']:.2f} | {r['dual_gap']:.3g} |"
        )
    lines += ["", "![time over C](time_over_c.png)", ""]
    _atomic_write(path, lambda stream: stream.write("\n".join(lines)))


def _plot(path, rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    labels = list(dict.fromkeys(_label(r) for r in rows))
    for label in labels:
        points = sorted((r["log10_C"], r) for r in rows if _label(r) == label)
        style = "--" if "no shrinking" in label else "-"
        x = [p[0] for p in points]
        axes[0].plot(x, [p[1]["seconds"] for p in points], style, marker="o", label=label)
        if not label.startswith("OVR"):
            axes[1].plot(
                x, [100 * p[1]["visited_share"] for p in points], style, marker="o", label=label
            )
    axes[0].set_ylabel("seconds per fit")
    axes[0].set_yscale("log")
    axes[1].set_ylabel("variables visited per epoch (% of all)")
    for axis in axes:
        axis.set_xlabel("log10(C)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    _save_figure(figure, path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--quick", action="store_true", help="tiny data (seconds)")
    parser.add_argument("--log10-C", type=int, nargs="+", default=list(range(-3, 2)))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="WW's n_jobs values")
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeats", type=int, default=1, help="runs of every configuration (median seconds)"
    )
    parser.add_argument(
        "--tabulate-only",
        action="store_true",
        help="no fits: rewrite summary.md and the figure from --out's results.csv",
    )
    args = parser.parse_args(argv)
    if args.tabulate_only:
        if args.quick:
            size = dict(QUICK_SIZE, mode="quick")
        else:
            from shared_datasets.synthetic import LSHTC_SHAPES

            n_train, n_test, n_classes, n_features = LSHTC_SHAPES["lshtc_small"]
            size = dict(
                n_train=n_train,
                n_test=n_test,
                n_features=n_features,
                n_classes=n_classes,
                mode="shape of lshtc_small",
            )
        rows = tabulate(args.out, size, args.max_iter)
        print(f"rewrote {args.out / 'summary.md'} and time_over_c.png from {len(rows)} fits")
        return
    rows = run(
        args.out,
        quick=args.quick,
        exponents=args.log10_C,
        threads=args.threads,
        max_iter=args.max_iter,
        seed=args.seed,
        repeats=args.repeats,
    )
    print(f"wrote {args.out / 'summary.md'}, results.csv, time_over_c.png ({len(rows)} fits)")


if __name__ == "__main__":
    main()
