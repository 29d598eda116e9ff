"""Benchmark of make_lshtc_like against scikit-learn's sparse text-like generator.

Anchor: ``sklearn.datasets.make_multilabel_classification(sparse=True)``, scikit-learn's
generator of bag-of-words documents (per-class word distributions, document length
``length``), run with one label per document so the task matches. It is the closest
library routine; it loops over documents in Python, ours is vectorised.

Run from the workspace root::

    .venv/bin/python shared-datasets/benchmarks/bench_generator.py            # full table
    .venv/bin/python shared-datasets/benchmarks/bench_generator.py --quick    # smaller sizes

Prints a Markdown table (copied into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import platform
import time
from functools import partial

import numpy as np
from sklearn.datasets import make_multilabel_classification

from shared_datasets import make_lshtc_like


def best_of(repeats, function):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the two smallest sizes")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    # (label, n_samples, n_features, n_classes, run the anchor?)
    sizes = [
        ("2.5k x 50k, 1000 classes", 2_500, 50_000, 1_000, True),
        ("25k x 50k, 1000 classes (default)", 25_000, 50_000, 1_000, True),
        ("LSHTC-small shape: 6,321 x 51,033, 1,139 classes", 6_321, 51_033, 1_139, False),
        ("100k x 200k, 5000 classes", 100_000, 200_000, 5_000, False),
        ("LSHTC-large shape: 163,590 x 381,581, 12,294 classes", 163_590, 381_581, 12_294, False),
    ]
    if args.quick:
        sizes = sizes[:2]
    print(
        f"# make_lshtc_like benchmark ({platform.processor() or platform.machine()}, "
        f"numpy {np.__version__}, best of {args.repeats})\n"
    )
    print(
        "| size | make_lshtc_like [s] | nnz/row | sklearn make_multilabel_classification [s] | ratio anchor/ours |"
    )
    print("|---|---|---|---|---|")
    for label, n, d, k, anchor in sizes:
        ours, (X, _) = best_of(args.repeats, partial(make_lshtc_like, n, d, k, random_state=0))
        nnz = X.nnz / n
        if anchor:
            theirs, _ = best_of(
                1,
                partial(
                    make_multilabel_classification,
                    n_samples=n,
                    n_features=d,
                    n_classes=k,
                    n_labels=1,
                    length=60,
                    allow_unlabeled=False,
                    sparse=True,
                    random_state=0,
                ),
            )
            cells = f"{theirs:.2f} | {theirs / ours:.0f}x"
        else:
            cells = "- | -"
        print(f"| {label} | {ours:.2f} | {nnz:.1f} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
