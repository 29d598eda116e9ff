"""Speed-up 1 -> N threads on the fixed-epoch protocol of Fig. III.2 (no shrinking, C = 1).

Runs a fixed number of epochs of WW and LLW on the LSHTC-like data with each thread count,
alternating the thread counts over repetitions, and reports the median seconds per epoch.
WW's schedule depends on the thread count (one class group on one thread, two groups per
thread otherwise, and narrower groups cost more per thread), so WW is also timed on one
thread with the schedule of N threads: column ``speedup`` is against the fastest one-thread
run, ``speedup_same_schedule`` against one thread on the same schedule.

    python benchmarks/bench_speedup.py --threads 1 2 --epochs 5 --repeats 3

On a machine shared with other jobs the numbers are a lower bound on the speed-up:
the load average is printed with the table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import lshtc_like, machine_note, markdown_table  # noqa: E402


def main(argv=None):
    from xcsvm.solvers.driver import solve
    from xcsvm.solvers.problem import prepare_problem

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formulations", nargs="+", default=["ww", "llw"])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=50000)
    parser.add_argument("--n-classes", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "speedup")
    args = parser.parse_args(argv)
    X, y, *_ = lshtc_like(args.n_train, 5000, args.n_features, args.n_classes)
    K = int(y.max()) + 1
    problem = prepare_problem(X, y, K, np.ones(X.shape[0]), bias=1.0)
    note = machine_note()
    # WW: each thread count runs its own schedule (1 group on one thread, 2 per thread
    # otherwise); one thread is also timed on the schedule of every larger thread count,
    # which separates the parallel speed-up from the cost of narrower class groups.
    configs = []
    for f in args.formulations:
        for t in args.threads:
            configs.append((f, t, None))
            if f == "ww" and t > 1:
                configs.append((f, 1, 2 * t))
    timings = {c: [] for c in configs}
    loads = []
    for _ in tqdm(range(args.repeats), desc="repeats"):
        for formulation, threads, groups in configs:
            loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            solve(formulation, problem, max_iter=args.epochs, shrinking=False, n_threads=threads,
                  random_state=0, fixed_epochs=True, ww_groups=groups)
            timings[formulation, threads, groups].append((time.perf_counter() - start) / args.epochs)
    rows = []
    for formulation in args.formulations:
        base = np.median(timings[formulation, args.threads[0], None])
        for formulation_, threads, groups in configs:
            if formulation_ != formulation:
                continue
            median = float(np.median(timings[formulation, threads, groups]))
            if formulation == "ww":
                n_groups = groups or (1 if threads == 1 else 2 * threads)
                schedule = f"{n_groups} group{'s' if n_groups > 1 else ''}"
            else:
                schedule = "classes in parallel"
            same = ""
            if formulation == "ww" and threads > 1 and (formulation, 1, 2 * threads) in timings:
                same = float(np.median(timings[formulation, 1, 2 * threads])) / median
            rows.append({"formulation": formulation.upper(), "threads": threads, "schedule": schedule,
                         "seconds_per_epoch": median, "speedup": base / median,
                         "speedup_same_schedule": same if formulation == "ww" else base / median,
                         "runs": len(timings[formulation, threads, groups])})
    table = markdown_table(rows, ["formulation", "threads", "schedule", "seconds_per_epoch", "speedup",
                                  "speedup_same_schedule", "runs"],
                           {"seconds_per_epoch": "{:.3f}", "speedup": "{:.2f}", "speedup_same_schedule": "{:.2f}"})
    header = (f"LSHTC-like n={args.n_train}, d={args.n_features}, K={args.n_classes}; {args.epochs} epochs "
              f"without shrinking per run; {note}; load average during runs {min(loads):.1f}-{max(loads):.1f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(header + "\n\n" + table + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"header": header, "rows": rows,
                                                         "timings": {f"{k[0]}-{k[1]}-{k[2] or 'default'}": v
                                                                     for k, v in timings.items()}}))
    print(header)
    print(table)


if __name__ == "__main__":
    main()
