import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # qp_reference


def blobs(n, d, n_classes, seed, normalise=True):
    """Overlapping Gaussian classes; rows scaled to unit norm as the thesis does for iris."""
    rng = np.random.RandomState(seed)
    centres = rng.randn(n_classes, d) * 1.2
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    X = centres[y] + rng.randn(n, d)
    if normalise:
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, y


@pytest.fixture
def small_problem():
    return blobs(120, 6, 4, seed=0)
