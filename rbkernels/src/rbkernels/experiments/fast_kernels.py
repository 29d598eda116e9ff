"""Fast kernel machines: the Gaussian basis G_B vs 1, 2, 3 Hadamard blocks H D_i (Fig. IV.4).

Only the diagonals D_i are adapted; early stopping waits 20 epochs for Hadamard bases::

    python -m rbkernels.experiments.fast_kernels --quick --out results/fast_kernels
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..machine import REGIMES
from .common import (
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

VARIANTS = [("dense", 3), ("hadamard", 1), ("hadamard", 2), ("hadamard", 3)]
COLORS = {
    "dense G_B": "black",
    "1 block": "tab:blue",
    "2 blocks": "tab:orange",
    "3 blocks": "tab:green",
}


def _variant(row):
    if row["basis"] == "dense":
        return "dense G_B"
    n = int(row["n_blocks"])
    return f"{n} block" + ("s" if n > 1 else "")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parser(
        __doc__.splitlines()[0],
        datasets=["mnist5k", "satimage"],
        quick_datasets=["digits"],
        features=[10, 30, 100, 300, 1000, 3000, 10000],
        quick_features=[16, 128],
    ).parse_args(argv)
    datasets, features, repeats, protocol, (max_train, max_test) = resolve(args)
    out = Path(args.out)
    data = {d: load_data(d, max_train=max_train, max_test=max_test) for d in datasets}
    cells = [
        dict(
            dataset=d,
            kernel="gaussian",
            regime=r,
            n_features=D,
            seed=s,
            protocol=protocol,
            basis=b,
            n_blocks=k,
        )
        for D in features
        for s in range(repeats)
        for d in datasets
        for r in REGIMES
        for b, k in VARIANTS
    ]  # width-major: a stopped run (--resume) has the first widths
    rows = run_grid(
        cells,
        desc="fast kernels",
        csv_path=out / "fast_kernels.csv",
        data_cache=data,
        resume=args.resume,
        tabulate_only=args.tabulate_only,
    )
    for r in rows:
        r["variant"] = _variant(r)
    mean = mean_rows(rows, ("dataset", "regime", "variant", "n_features"))
    used = "; ".join(describe(d, data[d]) for d in datasets)
    plot_kae_accuracy(
        mean,
        panel_keys=("dataset", "regime"),
        line_key="variant",
        line_labels={k: k for k in COLORS},
        line_colors=COLORS,
        title=(
            f"Fig. IV.4: fast Gaussian kernel machines "
            f"({'quick' if args.quick else 'full'} mode, {repeats} seed(s)). "
            f"Data: {used}\n{protocol_text(protocol)}"
        ),
        path=out / "fig_IV4.png",
    )
    table_rows = sorted(mean, key=lambda r: (r["dataset"], r["regime"], r["n_features"]))
    table = markdown_table(
        table_rows, ["dataset", "regime", "variant", "n_features", "accuracy", "kae"]
    )
    atomic_write_text(out / "fast_kernels.md", f"Data: {used}\n\n{table}\n")
    return {
        "title": "Fast kernel machines (Fig. IV.4)",
        "csv": [out / "fast_kernels.csv"],
        "png": [out / "fig_IV4.png"],
        "markdown": f"Data: {used}\n\n{table}",
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
