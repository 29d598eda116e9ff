import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def digits():
    """Digits scaled into [-1, 1] (§5.1's preprocessing), split 1200 / 597."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 8.0 - 1.0).astype("float32")
    perm = np.random.default_rng(0).permutation(len(X))
    X, y = X[perm], y[perm]
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
