"""Helpers of the benchmark scripts (not part of the package)."""

import numpy as np

import shared_datasets


def load(name, max_train=None, max_test=None, seed=0):
    Xt, yt, Xs, ys = shared_datasets.load(name, preprocessing="minmax", as_sparse=False)
    rng = np.random.default_rng(seed)
    if max_train and len(Xt) > max_train:
        i = rng.choice(len(Xt), max_train, replace=False)
        Xt, yt = Xt[i], yt[i]
    if max_test and len(Xs) > max_test:
        i = rng.choice(len(Xs), max_test, replace=False)
        Xs, ys = Xs[i], ys[i]
    return Xt.astype(np.float64), yt, Xs.astype(np.float64), ys


def markdown(rows, cols):
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append(
            "| "
            + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in cols)
            + " |"
        )
    return "\n".join(out)
