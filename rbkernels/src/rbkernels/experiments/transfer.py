"""Transfer learning on a 5/5 class split (Fig. IV.2).

The basis is trained on five random classes (task 1), then frozen and reused for the
other five classes (task 2), where only the classifier is learnt::

    python -m rbkernels.experiments.transfer --quick --out results/transfer
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..machine import REGIMES, KernelMachine
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
    read_rows,
    resolve,
    write_csv,
)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = parser(
        __doc__.splitlines()[0],
        datasets=["mnist5k"],
        quick_datasets=["digits"],
        features=[10, 30, 100, 300, 1000, 3000],
        quick_features=[20, 100],
    )
    p.add_argument("--splits", type=int, default=None, help="random 5/5 splits (5; quick: 1)")
    p.add_argument(
        "--kernels", nargs="+", default=None, help="kernels (gaussian arccos; quick: gaussian)"
    )
    args = p.parse_args(argv)
    datasets, features, repeats, protocol, (max_train, max_test) = resolve(args)
    splits = args.splits or (1 if args.quick else 5)
    kernels = args.kernels or (["gaussian"] if args.quick else ["gaussian", "arccos"])
    out = Path(args.out)
    rows = read_rows(out / "transfer.csv") if args.resume or args.tabulate_only else []
    done = {(r["dataset"], r["kernel"], r["regime"], r["n_features"], r["split"]) for r in rows}
    # Width-major (widths as given, then splits): a run stopped early (--resume continues
    # it) has every kernel and regime at the first widths.
    cells = [
        (d, k, D, r, s)
        for D in features
        for s in range(splits)
        for d in datasets
        for k in kernels
        for r in REGIMES
    ]
    if args.tabulate_only:
        cells = []
    data = {d: load_data(d, max_train=max_train, max_test=max_test) for d in datasets}
    for dataset, kernel, D, regime, split in tqdm(cells, desc="transfer"):
        if (dataset, kernel, regime, D, split) in done:
            continue
        Xt, yt, Xs, ys = data[dataset]
        classes = np.random.default_rng(split).permutation(np.unique(yt))
        task1 = np.isin(yt, classes[:5]), np.isin(ys, classes[:5])
        task2 = np.isin(yt, classes[5:]), np.isin(ys, classes[5:])
        m = KernelMachine(kernel, D, regime, protocol=protocol, random_state=split)
        m.fit(Xt[task1[0]], yt[task1[0]])
        acc1 = m.score(Xs[task1[1]], ys[task1[1]])
        acc2 = m.transfer(Xt[task2[0]], yt[task2[0]]).score(Xs[task2[1]], ys[task2[1]])
        base = dict(
            dataset=dataset,
            kernel=kernel,
            regime=regime,
            n_features=D,
            split=split,
            task1_classes=" ".join(map(str, sorted(classes[:5]))),
        )
        rows.append({**base, "task": "task 1 (trained)", "accuracy": acc1, "kae": np.nan})
        rows.append({**base, "task": "task 2 (transferred basis)", "accuracy": acc2, "kae": np.nan})
        write_csv(rows, out / "transfer.csv")
    mean = mean_rows(
        rows, ("dataset", "kernel", "task", "regime", "n_features"), values=("accuracy",)
    )
    used = "; ".join(describe(d, data[d]) for d in datasets)
    title = (
        f"Fig. IV.2: transfer learning, {splits} random 5/5 class split(s) "
        f"({'quick' if args.quick else 'full'} mode). Data: {used}\n{protocol_text(protocol)}"
    )
    plot_kae_accuracy(
        mean,
        panel_keys=("dataset", "kernel", "task"),
        line_key="regime",
        line_labels=REGIME_NAMES,
        line_colors=REGIME_COLORS,
        title=title,
        path=out / "fig_IV2.png",
        kae=False,
    )
    best = []  # every width, means over the splits
    for key in dict.fromkeys(
        (r["dataset"], r["kernel"], r["regime"], r["n_features"]) for r in mean
    ):
        sub = [r for r in mean if (r["dataset"], r["kernel"], r["regime"], r["n_features"]) == key]
        t1 = next(r for r in sub if r["task"].startswith("task 1"))
        t2 = next(r for r in sub if r["task"].startswith("task 2"))
        best.append(
            {
                "dataset": key[0],
                "kernel": key[1],
                "regime": key[2].upper(),
                "n_features": key[3],
                "splits": t1["repeats"],
                "task 1 acc": t1["accuracy"],
                "task 2 acc": t2["accuracy"],
            }
        )
    best.sort(key=lambda r: (r["dataset"], r["kernel"], r["n_features"]))
    table = markdown_table(best, list(best[0]))
    atomic_write_text(out / "transfer.md", f"Data: {used}\n\n{table}\n")
    return {
        "title": "Transfer learning (Fig. IV.2)",
        "csv": [out / "transfer.csv"],
        "png": [out / "fig_IV2.png"],
        "markdown": f"Data: {used}\n\nMeans over the splits:\n\n{table}",
    }


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
