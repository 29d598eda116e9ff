"""The fixed, seeded 90/10 split the thesis uses where a dataset has no split of its own."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import train_test_split

__all__ = ["SPLIT_SEED", "split_90_10"]

#: Seed of every fixed split: the same call returns the same split on every machine.
SPLIT_SEED = 0


def split_90_10(
    X: Any, y: npt.ArrayLike, *, test_size: float = 0.1, random_state: int = SPLIT_SEED
) -> list[Any]:
    """Split once into 90 % train and 10 % test ("Where training and test splits are
    unavailable, we split the data once into 90% train and 10% test sets", Section III.5.2).

    Stratified by ``y`` when every class has at least two samples, so small classes appear
    on both sides; otherwise a plain seeded permutation.

    Examples
    --------
    >>> import numpy as np
    >>> from shared_datasets.splitting import split_90_10
    >>> X_train, X_test, y_train, y_test = split_90_10(np.zeros((100, 2)), np.arange(100) % 2)
    >>> len(y_train), len(y_test), int(y_test.sum())
    (90, 10, 5)
    """
    y = np.asarray(y)
    stratify: np.ndarray | None = None
    if y.dtype.kind in "iub":
        counts = np.bincount(y - y.min()) if y.size else np.zeros(0)
        counts = counts[counts > 0]
        n_test = int(np.ceil(test_size * y.size))
        if counts.size and counts.min() >= 2 and n_test >= counts.size:
            stratify = y
    parts: list[Any] = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=stratify
    )
    return parts  # X_train, X_test, y_train, y_test
