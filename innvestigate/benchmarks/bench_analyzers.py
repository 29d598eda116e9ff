"""Images/s per analyzer on VGG16- and ResNet50-shaped models (random weights), the ratio
to one plain gradient pass measured in the same run, and the first-call (setup) time;
then the protocol of thesis Fig. V.4 (setup and run time for Deconvnet, LRP-Epsilon and
an LRP preset over a number of images).

Usage::

    KERAS_BACKEND=tensorflow python benchmarks/bench_analyzers.py [--models vgg16 resnet50]
        [--batch 4] [--size 224] [--repeats 3] [--fig-v4-images 32] [--out results.json]

Prints a Markdown table (pasted into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from tqdm.auto import tqdm

import innvestigate

ANALYZERS = [
    "gradient.baseline",
    "gradient",
    "input_t_gradient",
    "deconvnet",
    "guided_backprop",
    "lrp.z",
    "lrp.epsilon",
    "lrp.alpha_2_beta_1",
    "lrp.z_plus_fast",
    "lrp.sequential_preset_a",
    "lrp.sequential_preset_a_flat",
    "deep_taylor",
]
FIG_V4 = ["deconvnet", "lrp.epsilon", "lrp.sequential_preset_a_flat"]


def build(name, size):
    keras.utils.set_random_seed(0)
    app = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50}[name]
    return app(weights=None, input_shape=(size, size, 3), classifier_activation=None)


def time_analyzer(model, name, x, repeats):
    """Setup (create + first call) and the median later call, in wall-clock and CPU seconds.

    CPU time (all threads of this process) is the steadier measure on a machine shared
    with other jobs: waiting for a core inflates wall time, not CPU time.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    analyzer = innvestigate.create_analyzer(name, model)
    analyzer.analyze(x)
    setup, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
    runs, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        analyzer.analyze(x)
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return analyzer, (setup, setup_cpu), (float(np.median(runs)), float(np.median(cpu)))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["vgg16", "resnet50"])
    parser.add_argument("--analyzers", nargs="+", default=ANALYZERS)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fig-v4-images",
        type=int,
        default=32,
        help="images per method in the Fig. V.4 protocol (thesis: 512)",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    device = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
    print(f"backend={keras.backend.backend()} device={device} batch={args.batch} size={args.size}")
    rng = np.random.default_rng(0)
    results = []
    for model_name in args.models:
        model = build(model_name, args.size)
        x = rng.random((args.batch, args.size, args.size, 3)).astype("float32")
        rows = {}
        for name in tqdm(args.analyzers, desc=model_name):
            try:
                _, setup, run = time_analyzer(model, name, x, args.repeats)
            except innvestigate.NotAnalyzeableModelException:
                continue
            rows[name] = (setup, run)
        anchor, anchor_cpu = rows["gradient.baseline"][1]
        print(
            f"\n### {model_name} ({args.size}x{args.size}, batch {args.batch}, {keras.backend.backend()})\n"
        )
        print(
            "| analyzer | images/s | time / gradient pass | CPU time / gradient pass | setup (first call) s | setup CPU s |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name, ((setup, setup_cpu), (run, run_cpu)) in rows.items():
            print(
                f"| {name} | {args.batch / run:.2f} | {run / anchor:.2f} | {run_cpu / anchor_cpu:.2f} | {setup:.2f} | {setup_cpu:.2f} |"
            )
            results.append(
                {
                    "model": model_name,
                    "analyzer": name,
                    "images_per_s": args.batch / run,
                    "ratio_to_gradient": run / anchor,
                    "cpu_ratio_to_gradient": run_cpu / anchor_cpu,
                    "setup_s": setup,
                    "setup_cpu_s": setup_cpu,
                    "backend": keras.backend.backend(),
                    "batch": args.batch,
                    "size": args.size,
                }
            )

        # Fig. V.4: setup, then the time to analyse N images batch by batch.
        n_batches = max(1, args.fig_v4_images // args.batch)
        print(f"\nFig. V.4 protocol on {model_name}: {n_batches * args.batch} images\n")
        print("| method | setup s | run s (all images) | images/s |")
        print("|---|---:|---:|---:|")
        for name in FIG_V4:
            t0 = time.perf_counter()
            analyzer = innvestigate.create_analyzer(name, model)
            analyzer.analyze(x)
            setup = time.perf_counter() - t0
            t = time.perf_counter()
            for _ in range(n_batches):
                analyzer.analyze(x)
            run = time.perf_counter() - t
            print(f"| {name} | {setup:.2f} | {run:.2f} | {n_batches * args.batch / run:.2f} |")
            results.append(
                {
                    "model": model_name,
                    "fig_v4": name,
                    "setup_s": setup,
                    "run_s": run,
                    "images": n_batches * args.batch,
                    "backend": keras.backend.backend(),
                }
            )
        del model
        keras.backend.clear_session()
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
