"""Speed-up 1 -> N threads on the fixed-epoch protocol of Fig. III.2 (no shrinking, C = 1).

The thesis (Sec. 5.4) runs "a fixed amount of iterations for a fixed amount of class bundles"
and varies the cores: WW is timed here with the same class groups (``2 * max(threads)``, the
default of the largest thread count) on every thread count, and that is the ``speedup``
column. One thread also has a faster schedule of its own (one group: a sample's scores against
all classes in one pass over its rows), so WW on one thread with one group is timed as well and
``vs_fastest_one_thread`` compares against it: that is what a user gains from the threads.
LLW has no groups (classes run in parallel).

Every repeat runs each configuration once (``--epochs`` epochs, fixed, no shrinking), in an
order that rotates over the repeats; the first epoch of each run is a warm-up and dropped, the
table gives the median wall time per epoch over the rest. Ratios of medians taken in one run
are robust to the slow phases of a shared machine, which hit every configuration alike.

    python benchmarks/bench_speedup.py --threads 1 2 --epochs 6 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import lshtc_like, machine_note, markdown_table  # noqa: E402


def configurations(formulations, threads):
    """``(formulation, threads, ww_groups)`` to time; ``ww_groups`` None for LLW."""
    bundles = 2 * max(threads) if max(threads) > 1 else 1
    configs = []
    for formulation in formulations:
        if formulation == "ww":
            configs += [("ww", t, bundles) for t in threads]
            if bundles > 1:
                configs.append(("ww", 1, 1))
        else:
            configs += [(formulation, t, None) for t in threads]
    return configs


def main(argv=None):
    from xcsvm.solvers.driver import solve
    from xcsvm.solvers.problem import prepare_problem

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--epochs", type=int, default=6, help="epochs per run (the first is dropped)"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--formulations", nargs="+", default=["ww", "llw"], choices=["ww", "llw"])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=50000)
    parser.add_argument("--n-classes", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "speedup")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch of every run is dropped)")
    threads = sorted(set(args.threads))
    if threads[0] != 1:
        parser.error("--threads must include 1 (the speed-up is against one thread)")
    X, y, *_ = lshtc_like(args.n_train, 5000, args.n_features, args.n_classes)
    K = int(y.max()) + 1
    problem = prepare_problem(X, y, K, np.ones(X.shape[0]), bias=1.0)
    note = machine_note()
    configs = configurations(args.formulations, threads)
    epochs = {c: [] for c in configs}
    loads = []
    for repeat in tqdm(range(args.repeats), desc="repeats"):
        shift = repeat % len(configs)
        for formulation, n_threads, groups in configs[shift:] + configs[:shift]:
            loads.append(os.getloadavg()[0])
            result = solve(
                formulation,
                problem,
                max_iter=args.epochs,
                shrinking=False,
                n_threads=n_threads,
                random_state=0,
                fixed_epochs=True,
                ww_groups=groups,
            )
            epochs[formulation, n_threads, groups] += [r["seconds"] for r in result.history[1:]]
    median = {c: float(np.median(v)) for c, v in epochs.items()}
    rows = []
    fastest = median.get(("ww", 1, 1))  # WW's one-group single thread, timed when bundles > 1
    for formulation, n_threads, groups in configs:
        seconds = median[formulation, n_threads, groups]
        if formulation == "ww":
            schedule = f"{groups} group{'s' if groups > 1 else ''}"
        else:
            schedule = "classes in parallel"
        extra = formulation == "ww" and groups == 1 and len(threads) > 1  # the extra one-group row
        rows.append(
            {
                "formulation": formulation.upper(),
                "threads": n_threads,
                "schedule": schedule + (" (fastest on one thread)" if extra else ""),
                "seconds_per_epoch": seconds,
                "speedup": "" if extra else median[formulation, 1, groups] / seconds,
                "vs_fastest_one_thread": fastest / seconds
                if formulation == "ww" and fastest and groups != 1
                else "",
                "epochs_timed": len(epochs[formulation, n_threads, groups]),
            }
        )
    table = markdown_table(
        rows,
        [
            "formulation",
            "threads",
            "schedule",
            "seconds_per_epoch",
            "speedup",
            "vs_fastest_one_thread",
            "epochs_timed",
        ],
        {"seconds_per_epoch": "{:.3f}", "speedup": "{:.2f}", "vs_fastest_one_thread": "{:.2f}"},
    )
    header = (
        f"LSHTC-like n={args.n_train}, d={args.n_features}, K={args.n_classes}; {args.repeats} repeats of "
        f"{args.epochs} epochs without shrinking per configuration (first epoch of each run dropped); "
        f"{note}; load average during runs {min(loads):.1f}-{max(loads):.1f}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(header + "\n\n" + table + "\n")
    args.out.with_suffix(".json").write_text(
        json.dumps(
            {
                "header": header,
                "rows": rows,
                "epoch_seconds": {f"{f}-{t}-{g or 'none'}": v for (f, t, g), v in epochs.items()},
            }
        )
    )
    print(header)
    print(table)


if __name__ == "__main__":
    main()
