"""Feature-map throughput (samples/s): HadamardBasis vs GaussianBasis (dense) per backend.

D = 2d output features (d frequencies), batch of 1024 samples, compiled predict
(``predict_on_batch``: tf.function on TensorFlow, jit on JAX), median of repeats.
Each backend runs in its own subprocess (KERAS_BACKEND is fixed at import).

    python benchmarks/bench_throughput.py [--backends tensorflow jax] [--dims 1024 4096]
"""

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
import numpy as np, keras
from rbkernels import GaussianBasis, HadamardBasis
d, batch, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
x = np.random.default_rng(0).normal(size=(batch, d)).astype("float32")
out = {}
for name, layer in [("dense", GaussianBasis(2 * d, 1.0, seed=0)),
                    ("hadamard-1", HadamardBasis(2 * d, 1.0, n_blocks=1, seed=0)),
                    ("hadamard-3", HadamardBasis(2 * d, 1.0, n_blocks=3, seed=0))]:
    model = keras.Sequential([keras.Input((d,)), layer])
    model.predict_on_batch(x); model.predict_on_batch(x)
    times = []
    for _ in range(reps):
        t = time.perf_counter(); np.asarray(model.predict_on_batch(x)); times.append(time.perf_counter() - t)
    out[name] = batch / float(np.median(times))
    out[name + "_params"] = int(sum(np.prod(w.shape) for w in layer.weights))
print("RESULT" + json.dumps(out))
"""


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--backends", nargs="+", default=["tensorflow", "jax"])
    p.add_argument("--dims", nargs="+", type=int, default=[1024, 4096])
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    rows = []
    for backend in args.backends:
        for d in args.dims:
            env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(d), str(args.batch), str(args.repeats)],
                env=env,
                capture_output=True,
                text=True,
            )
            line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT")]
            if not line:
                print(proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"benchmark child failed for {backend}, d={d}")
            r = json.loads(line[0][6:])
            rows.append((backend, d, r))
    print(
        "| backend | d | D | dense samples/s | Hadamard 1 block | Hadamard 3 blocks | "
        "3 blocks / dense | params dense | params Hadamard 3 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for backend, d, r in rows:
        print(
            f"| {backend} | {d} | {2 * d} | {r['dense']:.0f} | {r['hadamard-1']:.0f} | "
            f"{r['hadamard-3']:.0f} | {r['hadamard-3'] / r['dense']:.2f} | {r['dense_params']} | "
            f"{r['hadamard-3_params']} |"
        )


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - t:.0f} s)")
