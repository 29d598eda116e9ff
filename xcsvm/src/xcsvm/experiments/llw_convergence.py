"""Table III.5 run as far towards convergence as a time budget allows.

LLW at log10(C) = 2, 3, 4 on data of LSHTC-small's shape (the data of
``python -m xcsvm.experiments.reproduce --shape lshtc_small``; no intercept, tol 0.1). The
fits advance **round-robin in chunks** of ``--chunk`` epochs: every chunk is one
``LLWClassifier(warm_start=True).fit`` continuing from the previous chunk's dual variables
(``_alpha``), so all C values have run the same number of epochs whenever the run stops
(``--max-epochs`` reached, every fit converged, or the next round would overrun
``--budget-minutes``). After every chunk the per-epoch relative duality gap (``history_``
with ``verbose=1``) is appended to ``history.csv`` and ``results.csv`` / ``summary.md`` are
rewritten, so a stopped run leaves its numbers.

Usage::

    python -m xcsvm.experiments.llw_convergence --out xcsvm/reproduction/table_III5_long \\
        --max-epochs 300 --budget-minutes 75
    python -m xcsvm.experiments.llw_convergence --quick --out /tmp/llw   # tiny data, seconds

Per C it reports test error, micro-/macro-F1, W-density (``|w| > 1e-12 max|W|``), the
α-density of the thesis' Table III.5 (share of non-zero dual variables), the shares of dual
variables at the bound C, strictly inside and at 0, the relative duality gap, and how far the
C values' iterates differ (relative difference of the test scores against log10(C) = 2 and
the share of equal predictions). The extrapolation fits the gap of the last half of the epochs
by ``gap ≈ a · epoch^(-b)`` and by a straight line, and gives the epochs (and hours, at the
median seconds per epoch) until the gap would reach 0.01: guesses, not bounds.
``--tabulate-only`` recomputes them from an existing ``history.csv``.

A chunk restarts the shrinking counters and the per-epoch shuffle seed (``random_state`` =
chunk number); otherwise it continues the same dual coordinate ascent.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from xcsvm.experiments import time_over_c
from xcsvm.experiments.reproduce import _atomic_write, _density, _make_data, _make_shaped_data

# Table III.5 of the thesis (LSHTC-small, LLW stopped after a day): error, micro-F1,
# macro-F1, W-density, alpha-density, all in %.
THESIS = {
    2: (87.73, 2.08, 12.27, 92.74, 99.88),
    3: (66.74, 15.07, 33.26, 92.74, 99.87),
    4: (59.31, 40.69, 24.58, 92.74, 99.90),
}
HISTORY_FIELDS = ("log10_C", "epoch", "violation", "active", "seconds", "primal", "dual", "gap")


def dual_shares(alpha, y, upper):
    """Shares of LLW's dual variables at the bound, strictly inside (0, bound) and at 0.

    ``alpha`` is LLW's (K, n) dual array (row = class); entries ``alpha[y_i, i]`` are not
    variables and are left out. ``upper`` is each sample's bound (a scalar or (n,); C here).
    Returns ``(at_bound, inside, at_zero)``, summing to 1: WW's per-variable count of
    :func:`xcsvm.experiments.time_over_c.dual_shares` on the transposed layout.
    """
    alpha = np.asarray(alpha, dtype=np.float64).T
    upper = np.broadcast_to(np.asarray(upper, dtype=np.float64), alpha.shape[:1])
    return time_over_c.dual_shares("ww", alpha, y, upper)[:3]


def extrapolate(epochs, gaps, target=0.01):
    """Epochs until ``gap`` reaches ``target`` under a power law fitted to the last half.

    Returns ``(exponent b, epochs)``; ``epochs`` is ``inf`` where the gap does not decrease.
    """
    epochs = np.asarray(epochs, dtype=float)
    gaps = np.asarray(gaps, dtype=float)
    keep = (epochs >= epochs.max() / 2) & (gaps > 0)
    if np.count_nonzero(keep) < 3:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(epochs[keep]), np.log(gaps[keep]), 1)
    if slope >= 0:
        return float(-slope), float("inf")
    log_epochs = (np.log(target) - intercept) / slope
    return float(-slope), float(np.exp(log_epochs)) if log_epochs < 700 else float("inf")


def extrapolate_linear(epochs, gaps, target=0.01):
    """Epochs until ``gap`` reaches ``target`` on the straight line fitted to the last half.

    Returns ``(decrease per epoch, epochs)``. Optimistic where the decrease slows down, as it
    does for dual coordinate ascent; ``inf`` where the gap does not decrease.
    """
    epochs = np.asarray(epochs, dtype=float)
    gaps = np.asarray(gaps, dtype=float)
    keep = epochs >= epochs.max() / 2
    if np.count_nonzero(keep) < 3:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(epochs[keep], gaps[keep], 1)
    if slope >= 0:
        return float(-slope), float("inf")
    return float(-slope), float((target - intercept) / slope)


def extrapolations(history):
    """Both extrapolations of one C's per-epoch records, and the median seconds per epoch."""
    gaps = [h["gap"] for h in history]
    epochs = [h["epoch"] for h in history]
    exponent_b, power_epochs = extrapolate(epochs, gaps)
    decrease, linear_epochs = extrapolate_linear(epochs, gaps)
    epoch_seconds = float(np.median([h["seconds"] for h in history]))
    return {
        "seconds_per_epoch": epoch_seconds,
        "gap_decay_exponent": exponent_b,
        "epochs_to_gap_0.01": power_epochs,
        "hours_to_gap_0.01": power_epochs * epoch_seconds / 3600,
        "gap_decrease_per_epoch": decrease,
        "linear_epochs_to_gap_0.01": linear_epochs,
        "linear_hours_to_gap_0.01": linear_epochs * epoch_seconds / 3600,
    }


def retabulate(out, data, chunk, max_epochs, budget_minutes):
    """Recompute the extrapolations from ``history.csv``; rewrite ``results.csv``, ``summary.md``."""
    out = Path(out)
    with open(out / "results.csv", newline="") as stream:
        rows: list[dict[str, Any]] = list(csv.DictReader(stream))
    with open(out / "history.csv", newline="") as stream:
        history = list(csv.DictReader(stream))
    for row in rows:
        for key, value in row.items():
            if key in ("log10_C", "epochs"):
                row[key] = int(value)
            elif key == "converged":
                row[key] = value == "True"
            else:
                row[key] = float(value)
        mine = [
            {k: float(h[k]) for k in ("epoch", "gap", "seconds")}
            for h in history
            if int(h["log10_C"]) == row["log10_C"]
        ]
        row.update(extrapolations(mine))
    elapsed = sum(r["fit_seconds"] for r in rows)  # the fits ran one after another
    _write(out, rows, data, chunk, max_epochs, budget_minutes, elapsed)
    return rows


def run(
    out,
    exponents=(2, 3, 4),
    max_epochs=300,
    chunk=20,
    budget_minutes=None,
    quick=False,
    n_jobs=1,
    seed=0,
    progress=True,
):
    """Run the chunked fits and write ``history.csv``, ``results.csv`` and ``summary.md``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import f1_score
    from tqdm.auto import tqdm

    from xcsvm import LLWClassifier

    if max_epochs < 1 or chunk < 1:
        raise ValueError(f"max_epochs and chunk must be >= 1, got {max_epochs} and {chunk}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if quick:
        X_train, y_train, X_test, y_test = _make_data(300, 150, 400, 6, seed=seed)
        data = "quick: 300 / 150 documents, 400 features, 6 classes"
    else:
        (X_train, y_train, X_test, y_test), size = _make_shaped_data("lshtc_small", seed)
        data = (
            f"LSHTC-small's shape: {size['n_train']} / {size['n_test']} documents, "
            f"{size['n_features']} features, {size['n_classes']} classes"
        )
    exponents = list(exponents)
    models = {
        e: LLWClassifier(
            C=10.0**e,
            tol=0.1,
            max_iter=chunk,
            warm_start=True,
            fit_intercept=False,
            n_jobs=n_jobs,
            verbose=1,
            random_state=seed,
        )
        for e in exponents
    }
    state: dict[int, dict[str, Any]] = {
        e: {"epochs": 0, "seconds": 0.0, "converged": False, "history": []} for e in exponents
    }
    with open(out / "history.csv", "w", newline="") as stream:
        csv.writer(stream).writerow(HISTORY_FIELDS)
    bar = tqdm(total=max_epochs * len(exponents), desc="LLW epochs", disable=not progress)
    round_seconds = 0.0
    rows = []
    while True:
        pending = [e for e in exponents if not state[e]["converged"]]
        done = max(state[e]["epochs"] for e in exponents)
        if not pending or done >= max_epochs:
            break
        elapsed = time.perf_counter() - started
        if budget_minutes is not None and elapsed + round_seconds > 60 * budget_minutes:
            break
        round_start = time.perf_counter()
        for exponent in pending:
            model, record = models[exponent], state[exponent]
            model.max_iter = min(chunk, max_epochs - record["epochs"])
            model.random_state = seed + record["epochs"]
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(X_train, y_train)
            record["seconds"] += time.perf_counter() - start
            record["converged"] = not any(
                issubclass(w.category, ConvergenceWarning) for w in caught
            )
            with open(out / "history.csv", "a", newline="") as stream:
                writer = csv.writer(stream)
                for entry in model.history_:
                    row = dict(entry, log10_C=exponent, epoch=record["epochs"] + entry["epoch"])
                    writer.writerow([row.get(k, "") for k in HISTORY_FIELDS])
                    record["history"].append(row)
            record["epochs"] += model.n_iter_
            bar.update(model.n_iter_)
        round_seconds = time.perf_counter() - round_start
        rows = _evaluate(models, state, X_test, y_test, y_train, f1_score)
        _write(out, rows, data, chunk, max_epochs, budget_minutes, time.perf_counter() - started)
    bar.close()
    return rows


def _evaluate(models, state, X_test, y_test, y_train, f1_score):
    exponents = list(models)
    scores = {e: models[e].decision_function(X_test) for e in exponents}
    reference = scores[exponents[0]]
    predictions = {e: models[e].classes_[np.argmax(scores[e], axis=1)] for e in exponents}
    rows = []
    for e in exponents:
        model, record = models[e], state[e]
        y_index = np.searchsorted(model.classes_, y_train)
        at_bound, inside, at_zero = dual_shares(model._alpha, y_index, model.C)
        predicted = predictions[e]
        rows.append(
            {
                "log10_C": e,
                "epochs": record["epochs"],
                "converged": record["converged"],
                "dual_gap": float(model.dual_gap_),
                "last_violation": float(record["history"][-1]["violation"]),
                "error": 100 * float(np.mean(predicted != y_test)),
                "micro_f1": 100 * float(f1_score(y_test, predicted, average="micro")),
                "macro_f1": 100 * float(f1_score(y_test, predicted, average="macro")),
                "w_density": _density(model.coef_),
                "alpha_density": 100 * (at_bound + inside),
                "share_at_C": at_bound,
                "share_inside": inside,
                "share_at_0": at_zero,
                "score_diff_vs_first": float(
                    np.linalg.norm(scores[e] - reference) / max(np.linalg.norm(reference), 1e-300)
                ),
                "same_predictions_vs_first": 100
                * float(np.mean(predicted == predictions[exponents[0]])),
                "fit_seconds": record["seconds"],
                **extrapolations(record["history"]),
            }
        )
    return rows


def _write(out, rows, data, chunk, max_epochs, budget_minutes, elapsed):
    def write_csv(stream):
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(out / "results.csv", write_csv)
    budget = f", budget {budget_minutes} min" if budget_minutes is not None else ""
    lines = [
        "# xcsvm: Table III.5 (LLW at large C) run towards convergence",
        "",
        f"Data: {data}. LLW, no intercept, tol 0.1, chunks of {chunk} epochs with warm_start, at "
        f"most {max_epochs} epochs{budget}; about {elapsed / 60:.0f} min. Thesis: LSHTC-small, "
        "stopped after a day.",
        "",
        "| log C | epochs | rel. duality gap | error: thesis / ours | micro-F1: thesis / ours | "
        "macro-F1: thesis / ours | W-density: thesis / ours | α-density: thesis / ours | "
        "α at C / inside / at 0 (%) | test scores vs first C (rel. diff, same pred. %) | "
        "s/epoch (median) | gap ~ epoch^-b: b | power law: epochs (hours) to gap 0.01 | "
        "gap decrease / epoch | straight line: epochs (hours) to gap 0.01 |",
        "|" + "---|" * 15,
    ]
    for r in rows:
        thesis = THESIS.get(r["log10_C"], (float("nan"),) * 5)
        lines.append(
            f"| {r['log10_C']} | {r['epochs']}{'' if r['converged'] else '*'} | {r['dual_gap']:.3g} | "
            f"{thesis[0]:.2f} / {r['error']:.2f} | {thesis[1]:.2f} / {r['micro_f1']:.2f} | "
            f"{thesis[2]:.2f} / {r['macro_f1']:.2f} | {thesis[3]:.2f} / {r['w_density']:.2f} | "
            f"{thesis[4]:.2f} / {r['alpha_density']:.2f} | "
            f"{100 * r['share_at_C']:.2f} / {100 * r['share_inside']:.2f} / {100 * r['share_at_0']:.2f} | "
            f"{r['score_diff_vs_first']:.3g}, {r['same_predictions_vs_first']:.1f} | "
            f"{r['seconds_per_epoch']:.1f} | {r['gap_decay_exponent']:.2f} | "
            f"{r['epochs_to_gap_0.01']:.3g} ({r['hours_to_gap_0.01']:.3g}) | "
            f"{r['gap_decrease_per_epoch']:.2g} | "
            f"{r['linear_epochs_to_gap_0.01']:.3g} ({r['linear_hours_to_gap_0.01']:.3g}) |"
        )
    lines += [
        "",
        "`*` = not converged (violation ≥ tol). Extrapolations, both fitted to the relative gap "
        "of the last half of the epochs: a power law (pessimistic while the gap is near 1) and a "
        "straight line (optimistic: coordinate ascent slows down); guesses, not bounds. Hours at "
        "the median seconds per epoch. Per-epoch gaps: `history.csv`.",
        "",
    ]
    _atomic_write(out / "summary.md", lambda stream: stream.write("\n".join(lines)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--log10-C", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--max-epochs", type=int, default=300, help="epoch cap per C")
    parser.add_argument("--chunk", type=int, default=20, help="epochs per warm-started fit")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="start no round of chunks that would end after this many minutes",
    )
    parser.add_argument("--quick", action="store_true", help="tiny data (seconds)")
    parser.add_argument(
        "--tabulate-only",
        action="store_true",
        help="no fits: recompute the extrapolations from --out's history.csv and results.csv",
    )
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.tabulate_only:
        data = "LSHTC-small's shape: 4463 / 1858 documents, 51033 features, 1139 classes"
        rows = retabulate(args.out, data, args.chunk, args.max_epochs, args.budget_minutes)
        print(f"rewrote {args.out / 'summary.md'} and results.csv ({len(rows)} C values)")
        return
    rows = run(
        args.out,
        exponents=args.log10_C,
        max_epochs=args.max_epochs,
        chunk=args.chunk,
        budget_minutes=args.budget_minutes,
        quick=args.quick,
        n_jobs=args.n_jobs,
        seed=args.seed,
    )
    print(f"wrote {args.out / 'summary.md'}, results.csv, history.csv ({len(rows)} C values)")


if __name__ == "__main__":
    main()
