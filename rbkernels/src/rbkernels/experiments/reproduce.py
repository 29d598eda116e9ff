"""Run every Chapter IV experiment and write ``DIR/summary.md`` with CSVs and PNGs.

    python -m rbkernels.experiments.reproduce --quick --out reports/rbkernels   # minutes
    python -m rbkernels.experiments.reproduce --out reports/rbkernels           # the full study

Quick mode uses sklearn's digits (1500 training samples), one seed and a shortened
protocol; full mode uses the thesis' protocol (10 000 batches per UAB/SAB epoch, three
seeds, 10 ... 30 000 features) on the shared-datasets stand-ins and takes days on a CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import adapting_bases, deep_kernels, fast_kernels, optimization, transfer
from .common import atomic_write_text

EXPERIMENTS = [
    ("adapting_bases", adapting_bases),
    ("transfer", transfer),
    ("deep_kernels", deep_kernels),
    ("fast_kernels", fast_kernels),
    ("optimization", optimization),
]


def main(argv: Sequence[str] | None = None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a few minutes on 2 cores")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--only",
        nargs="+",
        choices=[n for n, _ in EXPERIMENTS],
        default=None,
        help="run only these experiments",
    )
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    import keras

    header = [
        "# rbkernels: reproduction of Chapter IV (efficient learning of kernel approximations)",
        "",
        f"Mode: **{'quick' if args.quick else 'full'}**; Keras backend: {keras.backend.backend()}; "
        f"command: `python -m rbkernels.experiments.reproduce {' '.join(argv or sys.argv[1:])}`.",
        "",
        "Data stand-ins (shared-datasets): MNIST -> Fashion-MNIST and MNIST-5k; CoverType -> UCI "
        "Satellite and Shuttle; Gisette -> DNA; USPS -> sklearn digits; Letter is the real UCI "
        "Letter. CIFAR10 features and Adult are not reproduced. Each figure's title states the "
        "data it used. Quick mode is a smoke-scale run: digits only, 1 seed, a short protocol; "
        "its numbers show the trends, not the thesis' values.",
        "",
    ]
    for name, module in EXPERIMENTS:
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        sub = ["--out", str(out / name)] + (["--quick"] if args.quick else [])
        result = module.main(sub)
        minutes = (time.perf_counter() - start) / 60
        lines = [
            f"## {result['title']}",
            "",
            f"`python -m rbkernels.experiments.{name} {' '.join(sub)}` ({minutes:.1f} min)",
            "",
        ]
        lines += [f"![{Path(png).stem}]({os.path.relpath(png, out)})" for png in result["png"]]
        lines += [
            "",
            result["markdown"],
            "",
            "CSV: " + ", ".join(f"`{os.path.relpath(c, out)}`" for c in result["csv"]),
            "",
        ]
        sections.append("\n".join(lines))
        atomic_write_text(out / "summary.md", "\n".join(header) + "\n" + "\n".join(sections))
    return out / "summary.md"


if __name__ == "__main__":
    # Catches TensorFlow's cuInit failure on a CPU-only machine; for a start without any of its
    # missing-GPU lines: python -m shared_datasets.startup rbkernels.experiments.<name> ...
    from shared_datasets.startup import quiet_backend_startup

    quiet_backend_startup()
    main(sys.argv[1:])
