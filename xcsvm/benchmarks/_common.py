"""Shared pieces of the benchmarks: cached LSHTC-like data, metrics, peak memory, tables."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

CACHE = Path(os.environ.get("XCSVM_BENCH_CACHE", Path(__file__).resolve().parent / ".cache"))


def lshtc_like(
    n_train=20000,
    n_test=5000,
    n_features=50000,
    n_classes=200,
    topic_fraction=0.05,
    seed=0,
    topic_size=30,
    background_size=None,
):
    """Train/test split of ``shared_datasets.make_lshtc_like``, cached as npz (CSR float64).

    The defaults are the generator's earlier benchmark setting (30 topic words per class,
    background over the whole vocabulary); ``bench_liblinear.py`` passes the LSHTC-like
    vocabulary structure explained in BENCHMARKS.md.
    """
    from shared_datasets import make_lshtc_like

    name = f"lshtc_{n_train}_{n_test}_{n_features}_{n_classes}_{topic_fraction}_{seed}"
    if topic_size != 30 or background_size is not None:
        name += f"_t{topic_size}_b{background_size}"
    path = CACHE / (name + ".npz")
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        X, y = make_lshtc_like(
            n_samples=n_train + n_test,
            n_features=n_features,
            n_classes=n_classes,
            topic_fraction=topic_fraction,
            topic_size=topic_size,
            background_size=background_size,
            random_state=seed,
        )
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            data=X.data,
            indices=X.indices,
            indptr=X.indptr,
            shape=X.shape,
            y=y,
            n_train=n_train,
        )
        os.replace(tmp, path)
    with np.load(path) as f:
        X = sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"]))
        y, n_train = f["y"], int(f["n_train"])
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:], path


def metrics(y_true, y_pred, coef):
    from xcsvm.cli import evaluation_metrics

    return evaluation_metrics(np.asarray(y_true), np.asarray(y_pred), coef)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(python, script, args, timeout=3600):
    """Run ``python script args`` and parse the JSON it prints on its last line."""
    start = time.perf_counter()
    out = subprocess.run([python, script, *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{script} {args} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - start
    return result


def markdown_table(rows, columns, formats=None):
    formats = formats or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c, "")
            cells.append(formats.get(c, "{}").format(v) if v != "" else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_note() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} at start, Python {sys.version.split()[0]}"
