"""Why CS runs into its epoch cap at small C in Fig. III.3: the stopping rule's rounding slack.

CS's kernel (``solvers/cs.pyx``) stops when the largest block violation
``max_m G_m - min_{m free} G_m`` (LIBLINEAR's ``Solver_MCSVM_CS`` criterion; ``G_m = w_m . x_i
+ 1[m != y_i]``) falls below ``tol``. The own class ``y_i`` counts as free while the block sum
``sum_c alpha[i, c]`` is below ``upper_i (1 - 1e-12)``. This script fits CS without shrinking on
the data of ``reproduce --shape lshtc_small`` for a few epochs and recomputes that violation
from the fitted duals (``_alpha``, kept with ``warm_start=True``) and weights, once with the
kernel's slack ``1e-12`` and once with ``1e-9``, beside the largest relative deficit
``(upper_i - sum_c alpha[i, c]) / upper_i`` of the block sums and the relative duality gap.

Usage::

    python -m xcsvm.experiments.cs_stopping --out xcsvm/reproduction/fig_III3
    python -m xcsvm.experiments.cs_stopping --quick --out /tmp/cs_stopping   # tiny data

Writes ``cs_stopping.csv`` and ``cs_stopping.md`` into ``--out``. The kernel measures each
block before its step, this script after the epoch, so the two violations differ slightly.
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np

from xcsvm.experiments.reproduce import _atomic_write, _make_data, _make_shaped_data


def block_violations(alpha, scores, y, upper, slack):
    """LIBLINEAR's CS block violation of every sample, with the own class free below ``upper (1 - slack)``.

    ``alpha`` (n, K) in xcsvm's CS layout (``alpha[i, c] >= 0`` for ``c != y_i``, the own
    entry 0), ``scores`` (n, K) = ``X W^T``, ``y`` (n,) class indices, ``upper`` (n,) bounds.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    n = alpha.shape[0]
    rows = np.arange(n)
    y = np.asarray(y)
    gradient = np.asarray(scores, dtype=np.float64) + 1.0
    gradient[rows, y] -= 1.0
    free = alpha > 0
    free[rows, y] = alpha.sum(axis=1) < np.asarray(upper) * (1 - slack)
    lowest = np.where(free, gradient, np.inf).min(axis=1)
    return gradient.max(axis=1) - lowest


def run(out, exponents=(-3, -2), epochs=(2, 4, 8), quick=False, seed=0):
    """Fit, recompute the violations, write ``cs_stopping.csv`` and ``cs_stopping.md``."""
    from sklearn.exceptions import ConvergenceWarning

    from xcsvm import CSClassifier

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        X, y, X_test, y_test = _make_data(300, 150, 400, 6, seed=seed)
    else:
        (X, y, X_test, y_test), _ = _make_shaped_data("lshtc_small", seed)
    rows = []
    for exponent in exponents:
        C = 10.0**exponent
        for n_epochs in epochs:
            model = CSClassifier(
                C=C,
                tol=0.1,
                max_iter=n_epochs,
                shrinking=False,
                warm_start=True,
                fit_intercept=False,
                random_state=seed,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            y_index = np.searchsorted(model.classes_, y)
            scores = np.asarray(X @ np.asarray(model.coef_).T)
            upper = np.full(X.shape[0], C)
            totals = model._alpha.sum(axis=1)
            rows.append(
                {
                    "log10_C": exponent,
                    "epochs": model.n_iter_,
                    "kernel_violation": float(model.history_[-1]["violation"]),
                    "violation_slack_1e-12": float(
                        block_violations(model._alpha, scores, y_index, upper, 1e-12).max()
                    ),
                    "violation_slack_1e-9": float(
                        block_violations(model._alpha, scores, y_index, upper, 1e-9).max()
                    ),
                    "max_relative_deficit": float(np.max((upper - totals) / upper)),
                    "dual_gap": float(model.dual_gap_),
                    "error": 100 * float(np.mean(model.predict(X_test) != y_test)),
                }
            )
    _write(out, rows)
    return rows


def _write(out, rows):
    def write_csv(stream):
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    _atomic_write(out / "cs_stopping.csv", write_csv)
    lines = [
        "# xcsvm: CS's stopping rule at small C (rounding slack of the block-sum bound)",
        "",
        "CS without shrinking, tol 0.1. Violations: the kernel's (last epoch, measured before "
        "each block's step) and recomputed after the epoch with the own class counted free "
        "below C (1 − slack).",
        "",
        "| log C | epochs | kernel violation | recomputed, slack 1e-12 | recomputed, slack 1e-9 | "
        "max rel. deficit of block sums | rel. duality gap | error (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['log10_C']} | {r['epochs']} | {r['kernel_violation']:.4f} | "
            f"{r['violation_slack_1e-12']:.4f} | {r['violation_slack_1e-9']:.3g} | "
            f"{r['max_relative_deficit']:.3g} | {r['dual_gap']:.3g} | {r['error']:.2f} |"
        )
    lines.append("")
    _atomic_write(out / "cs_stopping.md", lambda stream: stream.write("\n".join(lines)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--log10-C", type=int, nargs="+", default=[-3, -2])
    parser.add_argument("--epochs", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--quick", action="store_true", help="tiny data (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = run(args.out, args.log10_C, args.epochs, quick=args.quick, seed=args.seed)
    print(f"wrote {args.out / 'cs_stopping.md'} and cs_stopping.csv ({len(rows)} fits)")


if __name__ == "__main__":
    main()
