"""Epochs to converge of end-to-end training, sin-cos (Gaussian) vs ReLU (ArcCos) (Fig. IV.5).

python -m rbkernels.experiments.optimization --quick --out results/optimization
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import (
    atomic_write_text,
    describe,
    load_data,
    markdown_table,
    mean_rows,
    parser,
    protocol_text,
    resolve,
    run_grid,
    save_figure,
)

ACTIVATIONS = {"gaussian": "sin-cos", "arccos": "ReLU"}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = parser(
        __doc__.splitlines()[0],
        datasets=["mnist5k"],
        quick_datasets=["digits"],
        features=[10, 30, 100, 300, 1000, 3000, 10000],
        quick_features=[10, 100, 1000],
    )
    args = p.parse_args(argv)
    if args.quick:  # enough epochs for convergence to show, still cheap on digits
        args.max_epochs = args.max_epochs or 100
        args.patience = args.patience or 3
        args.learning_rate = args.learning_rate or 5e-3
    datasets, features, repeats, protocol, (max_train, max_test) = resolve(args)
    out = Path(args.out)
    data = {d: load_data(d, max_train=max_train, max_test=max_test) for d in datasets}
    cells = [
        dict(dataset=d, kernel=k, regime="dab", n_features=D, seed=s, protocol=protocol)
        for D in features
        for s in range(repeats)
        for d in datasets
        for k in ACTIVATIONS
    ]
    rows = run_grid(
        cells,
        desc="optimization",
        csv_path=out / "optimization.csv",
        data_cache=data,
        resume=args.resume,
        tabulate_only=args.tabulate_only,
    )
    for r in rows:
        r["activation"] = ACTIVATIONS[r["kernel"]]
    mean = mean_rows(rows, ("dataset", "activation", "n_features"))
    used = "; ".join(describe(d, data[d]) for d in datasets)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        right = ax.twinx()
        for act, color in (("sin-cos", "tab:blue"), ("ReLU", "tab:red")):
            pts = sorted(
                (r for r in mean if r["dataset"] == dataset and r["activation"] == act),
                key=lambda r: r["n_features"],
            )
            x = [r["n_features"] for r in pts]
            ax.plot(x, [r["epochs"] for r in pts], "-o", color=color, label=f"{act}: epochs")
            right.plot(x, [r["accuracy"] for r in pts], "--", color=color, label=f"{act}: accuracy")
        ax.set_xscale("log")
        ax.set_xlabel("number of features")
        ax.set_ylabel("epochs to best validation loss (solid)")
        right.set_ylabel("test accuracy (dashed)")
        ax.set_title(dataset)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = right.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7)
    fig.suptitle(
        f"Fig. IV.5: DAB optimisation, sin-cos vs ReLU ({'quick' if args.quick else 'full'} "
        f"mode, {repeats} seed(s)). Data: {used}\n{protocol_text(protocol)}",
        fontsize=9,
    )
    fig.tight_layout()
    save_figure(fig, out / "fig_IV5.png")
    plt.close(fig)
    table = markdown_table(
        sorted(mean, key=lambda r: (r["dataset"], r["n_features"])),
        ["dataset", "activation", "n_features", "epochs", "accuracy", "seconds"],
    )
    atomic_write_text(out / "optimization.md", f"Data: {used}\n\n{table}\n")
    return {
        "title": "Optimisation, sin-cos vs ReLU (Fig. IV.5)",
        "csv": [out / "optimization.csv"],
        "png": [out / "fig_IV5.png"],
        "markdown": f"Data: {used}\n\n{table}",
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
