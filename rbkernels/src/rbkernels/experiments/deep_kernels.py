"""Deep kernel machines: ArcCos, ArcCos2, ArcCos3 under RB/UAB/SAB/DAB (Fig. IV.3, A.2, A.3).

Features are split evenly over the layers::

    python -m rbkernels.experiments.deep_kernels --quick --out results/deep_kernels
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..machine import REGIMES
from .common import (
    REGIME_COLORS,
    REGIME_NAMES,
    atomic_write_text,
    describe,
    load_data,
    markdown_table,
    mean_rows,
    parser,
    plot_kae_accuracy,
    protocol_text,
    resolve,
    run_grid,
)

KERNELS = ["arccos", "arccos2", "arccos3"]
KERNEL_COLORS = {"arccos": "tab:purple", "arccos2": "tab:brown", "arccos3": "tab:gray"}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parser(
        __doc__.splitlines()[0],
        datasets=["mnist5k", "satimage"],
        quick_datasets=["digits"],
        features=[30, 100, 300, 1000, 3000, 10000, 30000],
        quick_features=[30, 300],
    ).parse_args(argv)
    datasets, features, repeats, protocol, (max_train, max_test) = resolve(args)
    out = Path(args.out)
    data = {d: load_data(d, max_train=max_train, max_test=max_test) for d in datasets}
    cells = [
        dict(dataset=d, kernel=k, regime=r, n_features=D, seed=s, protocol=protocol)
        for D in features
        for s in range(repeats)
        for d in datasets
        for k in KERNELS
        for r in REGIMES
    ]  # width-major: a stopped run (--resume) has the first widths
    rows = run_grid(
        cells,
        desc="deep kernels",
        csv_path=out / "deep_kernels.csv",
        data_cache=data,
        resume=args.resume,
        tabulate_only=args.tabulate_only,
    )
    mean = mean_rows(rows, ("dataset", "kernel", "regime", "n_features"))
    used = "; ".join(describe(d, data[d]) for d in datasets)
    mode = "quick" if args.quick else "full"
    tail = f" ({mode} mode, {repeats} seed(s)). Data: {used}\n{protocol_text(protocol)}"
    plot_kae_accuracy(
        mean,
        panel_keys=("dataset", "kernel"),
        line_key="regime",
        line_labels=REGIME_NAMES,
        line_colors=REGIME_COLORS,
        title="Fig. IV.3 (first part) / A.3: bases per ArcCos kernel" + tail,
        path=out / "fig_A3.png",
    )
    plot_kae_accuracy(
        mean,
        panel_keys=("dataset", "regime"),
        line_key="kernel",
        line_labels={k: k for k in KERNELS},
        line_colors=KERNEL_COLORS,
        title="Fig. IV.3 (second part) / A.2: 1, 2, 3 layers per basis" + tail,
        path=out / "fig_A2.png",
    )
    best = []
    for key in dict.fromkeys((r["dataset"], r["kernel"]) for r in mean):
        row = {"dataset": key[0], "kernel": key[1]}
        for regime in REGIMES:
            accs = [
                r["accuracy"]
                for r in mean
                if (r["dataset"], r["kernel"]) == key and r["regime"] == regime
            ]
            row[regime.upper()] = round(100 * max(accs), 1)
        best.append(row)
    table = markdown_table(best, list(best[0]))
    atomic_write_text(out / "deep_kernels.md", f"Data: {used}\n\nBest accuracy (%):\n\n{table}\n")
    return {
        "title": "Deep kernel machines (Fig. IV.3, A.2, A.3)",
        "csv": [out / "deep_kernels.csv"],
        "png": [out / "fig_A3.png", out / "fig_A2.png"],
        "markdown": f"Data: {used}\n\nBest accuracy (%) over the widths:\n\n{table}",
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
