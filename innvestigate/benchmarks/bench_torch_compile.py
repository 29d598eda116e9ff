"""Should the PyTorch backend compile analyzers with ``torch.compile``? Eager against compiled.

Runs each analyzer twice in the same process on the same model and batch: with the backend's
``compile_function`` (eager) and with a variant that wraps the analyzer's function in
``torch.compile`` (TorchInductor, the default). Reports the first call (setup: for the compiled
variant the Dynamo trace and the C++ code generation), the median of the later calls, the
ratio compiled / eager, and the largest difference between the two results relative to the
largest eager value (float32 round-off is ~1e-6).

Usage::

    KERAS_BACKEND=torch python benchmarks/bench_torch_compile.py [--batch 32] [--repeats 5]

Prints a Markdown table (pasted into BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import time

if os.environ.get("KERAS_BACKEND") != "torch":
    raise SystemExit(
        "Run with KERAS_BACKEND=torch (this compares torch.compile with eager execution)."
    )

import keras
import numpy as np
import torch
from tqdm.auto import tqdm

import innvestigate
from innvestigate.backend import torch as torch_backend

ANALYZERS = ["gradient", "lrp.epsilon", "lrp.alpha_1_beta_0", "lrp.sequential_preset_a_flat"]


def compiled_variant(fn, variables):
    """``compile_function`` with ``torch.compile``. Not under ``torch.no_grad()`` as the eager
    one is: Dynamo then drops the tape that ``torch.autograd.grad`` needs (RuntimeError)."""
    del variables
    compiled = torch.compile(fn)

    def run(*args):
        return compiled(*keras.tree.map_structure(keras.ops.convert_to_tensor, args))

    return run


def build_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def time_analyzer(model, name, x, repeats):
    t0 = time.perf_counter()
    analyzer = innvestigate.create_analyzer(name, model)
    result = analyzer.analyze(x)
    setup = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        analyzer.analyze(x)
        runs.append(time.perf_counter() - t)
    return setup, float(np.median(runs)), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--analyzers", nargs="+", default=ANALYZERS)
    args = parser.parse_args()
    model = build_model()
    x = np.random.default_rng(0).normal(size=(args.batch, 28, 28, 1)).astype("float32")
    eager_compile = torch_backend.compile_function
    rows = []
    for name in tqdm(args.analyzers, desc="analyzers"):
        torch_backend.compile_function = eager_compile
        e_setup, e_run, e_result = time_analyzer(model, name, x, args.repeats)
        torch_backend.compile_function = compiled_variant
        try:
            t0 = time.perf_counter()
            c_setup, c_run, c_result = time_analyzer(model, name, x, args.repeats)
        except RuntimeError as err:  # torch.compile failures are part of the answer
            rows.append(
                (
                    name,
                    e_setup,
                    e_run,
                    time.perf_counter() - t0,
                    None,
                    str(err).splitlines()[0][:90],
                )
            )
            continue
        finally:
            torch_backend.compile_function = eager_compile
            torch._dynamo.reset()
        diff = float(np.abs(c_result - e_result).max() / np.abs(e_result).max())
        rows.append((name, e_setup, e_run, c_setup, c_run, diff))
    print(
        f"\ntorch {torch.__version__}, keras {keras.__version__}, batch {args.batch}, "
        f"median of {args.repeats} calls after the first\n"
    )
    print(
        "| analyzer | eager: first call s | eager: ms / batch | torch.compile: first call s "
        "| torch.compile: ms / batch | compiled / eager | max difference / max eager |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, e_setup, e_run, c_setup, c_run, diff in rows:
        if c_run is None:
            print(
                f"| {name} | {e_setup:.2f} | {e_run * 1e3:.1f} | {c_setup:.1f} (failed) | RuntimeError: {diff} | | |"
            )
            continue
        print(
            f"| {name} | {e_setup:.2f} | {e_run * 1e3:.1f} | {c_setup:.1f} | {c_run * 1e3:.1f} "
            f"| {c_run / e_run:.2f} | {diff:.1e} |"
        )


if __name__ == "__main__":
    main()
