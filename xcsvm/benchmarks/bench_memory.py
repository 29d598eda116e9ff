"""Peak memory of ``fit`` against the memory the problem itself needs: X + W + dual variables.

Each fit runs in a fresh child process. Two measurements:

* ``tracemalloc``: numpy registers its buffers with it; the peak of traced memory during
  ``fit`` minus what was traced just before it, plus X, is the peak of the arrays the fit
  holds (X included);
* ``ru_maxrss``: the resident peak of the child, minus its resident size just before ``fit``,
  plus the size of X (so the interpreter and the libraries are not counted).

A fit on a tiny problem runs first, so that the modules ``fit`` imports lazily are loaded
before the measurement.

The reference is ``X + W + duals`` in bytes: the CSR arrays of X, the weights
``K x (d + 1 with an intercept) x 8`` and the dual variables with their shrinking counters
(``n x K x (8 + 1)``; LLW stores them per class, the same count). Shapes:

* ``wide``: d = 10^7 features, K = 5 classes, 300 samples with 10 non-zeros each
  (3 000 non-zeros): the weights dominate;
* ``lshtc``: the LSHTC-like data of ``bench_liblinear.py`` (n = 20 000, d = 50 000,
  K = 200): the dual variables are as large as the weights.

Each fit runs at most ``MAX_EPOCHS`` = 30 epochs (``tol=0.1``): every array of the fit is
allocated before its first epoch, so more epochs change the time, not the peak.

    python benchmarks/bench_memory.py --out benchmarks/results/memory
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def wide_problem(seed=0, n=300, d=10**7, n_classes=5, nnz_per_row=10):
    """300 x 10^7 CSR with 10 non-zeros per row; each class has its own 2 000 words."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    y[:n_classes] = np.arange(n_classes)
    vocabulary = rng.choice(d, size=(n_classes, 2000), replace=False)
    indices = np.stack([rng.choice(vocabulary[c], size=nnz_per_row, replace=False) for c in y])
    indices.sort(axis=1)
    X = sp.csr_matrix(
        (
            rng.random(n * nnz_per_row) + 0.1,
            indices.ravel(),
            np.arange(0, n * nnz_per_row + 1, nnz_per_row),
        ),
        shape=(n, d),
    )
    return X, y


def child(shape, formulation, n_jobs):
    import tracemalloc

    tracemalloc.start()
    if shape == "wide":
        X, y = wide_problem()
    else:
        from _common import lshtc_like

        d, K = 50000, 200
        X, y, _, _, _ = lshtc_like(
            20000, 5000, d, K, 0.5, topic_size=8 * d // K, background_size=d // 10
        )
        X = sp.csr_matrix(X)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from xcsvm.estimators import estimator_class

    warnings.simplefilter("ignore", ConvergenceWarning)
    # The memory of a fit does not grow with its epochs: at most MAX_EPOCHS are run
    # (LLW at d = 10^7 needs hundreds on this machine).
    model = estimator_class(formulation)(
        C=1.0, n_jobs=n_jobs, random_state=0, fit_intercept=True, max_iter=MAX_EPOCHS
    )
    model.fit(np.eye(4), [0, 1, 2, 3])  # warm-up: lazy imports
    n, d = X.shape
    K = np.unique(y).size
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    w_bytes = K * (d + 1) * 8
    dual_bytes = n * K * 9
    rss_before = _rss_mib()
    traced_before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] - traced_before + x_bytes
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    reference = x_bytes + w_bytes + dual_bytes
    rss_fit = (rss_peak - rss_before) * 2**20 + x_bytes
    return {
        "shape": shape,
        "formulation": formulation,
        "n_jobs": n_jobs,
        "n": n,
        "d": d,
        "K": K,
        "nnz": int(X.nnz),
        "X_mib": x_bytes / 2**20,
        "W_mib": w_bytes / 2**20,
        "duals_mib": dual_bytes / 2**20,
        "reference_mib": reference / 2**20,
        "traced_peak_mib": traced_peak / 2**20,
        "traced_ratio": traced_peak / reference,
        "rss_fit_mib": rss_fit / 2**20,
        "rss_ratio": rss_fit / reference,
        "rss_peak_mib": rss_peak,
        "fit_seconds": seconds,
        "n_iter": int(model.n_iter_),
        "dual_gap": float(model.dual_gap_),
        "max_iter": MAX_EPOCHS,
        "load": os.getloadavg()[0],
    }


#: Epoch cap of the measured fits (memory is allocated before the first epoch).
MAX_EPOCHS = 30

RUNS = [
    ("wide", "ww", 1),
    ("wide", "ww", 2),
    ("wide", "cs", 1),
    ("wide", "llw", 2),
    ("lshtc", "ww", 2),
    ("lshtc", "cs", 1),
    ("lshtc", "llw", 2),
]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("SHAPE", "FORMULATION", "N_JOBS"), help=argparse.SUPPRESS
    )
    parser.add_argument("--shapes", nargs="+", default=["wide", "lshtc"])
    parser.add_argument("--formulations", nargs="+", default=["ww", "cs", "llw"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "memory")
    args = parser.parse_args(argv)
    if args.child:
        shape, formulation, n_jobs = args.child
        print(json.dumps(child(shape, formulation, int(n_jobs))))
        return
    rows = []
    for shape, formulation, n_jobs in RUNS:
        if shape not in args.shapes or formulation not in args.formulations:
            continue
        completed = subprocess.run(
            [sys.executable, __file__, "--child", shape, formulation, str(n_jobs)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    columns = [
        "shape",
        "formulation",
        "n_jobs",
        "X_mib",
        "W_mib",
        "duals_mib",
        "reference_mib",
        "traced_peak_mib",
        "traced_ratio",
        "rss_fit_mib",
        "rss_ratio",
        "fit_seconds",
        "n_iter",
        "load",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.2f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(table)


if __name__ == "__main__":
    main()
