"""Accuracy and KAE vs number of features for RB/UAB/SAB/DAB x Gaussian/ArcCos.

Fig. IV.1 and Tab. IV.1 (main data sets), Fig. A.1 and Tab. A.1 (appendix data sets)::

    python -m rbkernels.experiments.adapting_bases --quick --out results/adapting_bases
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
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

MAIN = ["dna", "fashion_mnist", "mnist5k", "satimage", "shuttle"]  # Tab. IV.1 stand-ins
APPENDIX = ["letter", "digits"]  # Tab. A.1 stand-ins
FEATURES = [10, 30, 100, 300, 1000, 3000, 10000, 30000]
KERNELS = ["gaussian", "arccos"]


def best_accuracy_table(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Tab. IV.1 / A.1: best mean accuracy (%) over the numbers of features, per basis."""
    mean = mean_rows(rows, ("dataset", "kernel", "regime", "n_features"))
    table = []
    for dataset in dict.fromkeys(r["dataset"] for r in mean):
        row = {"dataset": dataset}
        for kernel in KERNELS:
            for regime in REGIMES:
                accs = [
                    r["accuracy"]
                    for r in mean
                    if r["dataset"] == dataset and r["kernel"] == kernel and r["regime"] == regime
                ]
                if accs:
                    row[f"{kernel} {regime.upper()}"] = round(100 * max(accs), 1)
        row["seeds per cell"] = min(r["repeats"] for r in mean if r["dataset"] == dataset)
        table.append(row)
    return table


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parser(
        __doc__.splitlines()[0],
        datasets=MAIN + APPENDIX,
        quick_datasets=["digits"],
        features=FEATURES,
        quick_features=[10, 30, 100, 300],
    ).parse_args(argv)
    datasets, features, repeats, protocol, (max_train, max_test) = resolve(args)
    out = Path(args.out)
    data = {d: load_data(d, max_train=max_train, max_test=max_test) for d in datasets}
    # Width-major order (widths as given, then seeds): a run stopped early has every
    # kernel and regime at the first widths (``--features 3000 300 30`` for Tab. A.1).
    cells = [
        dict(dataset=d, kernel=k, regime=r, n_features=D, seed=s, protocol=protocol)
        for D in features
        for s in range(repeats)
        for d in datasets
        for k in KERNELS
        for r in REGIMES
    ]
    rows = run_grid(
        cells,
        desc="adapting bases",
        csv_path=out / "adapting_bases.csv",
        data_cache=data,
        resume=args.resume,
        tabulate_only=args.tabulate_only,
    )
    mean = mean_rows(rows, ("dataset", "kernel", "regime", "n_features"))
    from .common import write_csv

    write_csv(mean, out / "adapting_bases_mean.csv")  # the seed means behind the figures
    data_text = "; ".join(describe(d, data[d]) for d in datasets)
    mode = "quick" if args.quick else "full"
    results: dict[str, Any] = {
        "csv": [out / "adapting_bases.csv", out / "adapting_bases_mean.csv"],
        "png": [],
        "tables": {},
    }
    for group, name, fig_name in ((MAIN, "table_IV1", "fig_IV1"), (APPENDIX, "table_A1", "fig_A1")):
        sub = [r for r in mean if r["dataset"] in group]
        if not sub:
            continue
        used = [d for d in datasets if d in group]
        label = {"fig_IV1": "Fig. IV.1", "fig_A1": "Fig. A.1"}[fig_name]
        title = (
            f"{label}: adapting bases ({mode} mode, "
            f"{repeats} seed(s)). Data: "
            + "; ".join(describe(d, data[d]) for d in used)
            + f"\n{protocol_text(protocol)}"
        )
        plot_kae_accuracy(
            sub,
            panel_keys=("dataset", "kernel"),
            line_key="regime",
            line_labels=REGIME_NAMES,
            line_colors=REGIME_COLORS,
            title=title,
            path=out / f"{fig_name}.png",
        )
        results["png"].append(out / f"{fig_name}.png")
        table = best_accuracy_table([r for r in rows if r["dataset"] in group])
        cols = list(dict.fromkeys(k for t in table for k in t))
        from .common import write_csv

        write_csv(table, out / f"{name}.csv")
        results["csv"].append(out / f"{name}.csv")
        results["tables"][name] = markdown_table(table, cols)
    markdown = f"Data: {data_text}\n\nBest accuracy (%) over the widths:\n\n" + "\n\n".join(
        f"{k.replace('table_', 'Tab. ').replace('IV1', 'IV.1').replace('A1', 'A.1')}:\n\n{v}"
        for k, v in results["tables"].items()
    )
    atomic_write_text(out / "adapting_bases.md", markdown + "\n")
    return {
        "title": "Adapting bases (Fig. IV.1, Tab. IV.1, Fig. A.1, Tab. A.1)",
        "csv": results["csv"],
        "png": results["png"],
        "markdown": markdown,
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
