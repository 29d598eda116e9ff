"""Preprocessing is fitted on train and applied to test, checked against direct formulas."""

import numpy as np
import pytest
import scipy.sparse as sp

import shared_datasets
from shared_datasets.preprocessing import preprocess


@pytest.fixture(scope="module")
def wine():
    return shared_datasets.load("wine")


def test_unit_norm(wine):
    X_train, _, X_test, _ = shared_datasets.load("wine", preprocessing="unit_norm")
    assert np.allclose(np.linalg.norm(X_train, axis=1), 1, atol=1e-6)
    assert np.allclose(np.linalg.norm(X_test, axis=1), 1, atol=1e-6)
    raw = wine[2].astype(np.float64)
    assert np.allclose(X_test, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_unit_variance_uses_train_statistics(wine):
    X_train, _, X_test, _ = shared_datasets.load("wine", preprocessing="unit_variance")
    raw_train, raw_test = wine[0].astype(np.float64), wine[2].astype(np.float64)
    mean, std = raw_train.mean(axis=0), raw_train.std(axis=0)
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-5) and np.allclose(
        X_train.std(axis=0), 1, atol=1e-5
    )
    assert np.allclose(X_test, (raw_test - mean) / std, atol=1e-4)
    assert X_train.dtype == np.float32


def test_minmax_maps_train_to_minus_one_one(wine):
    X_train, _, X_test, _ = shared_datasets.load("wine", preprocessing="minmax")
    raw_train, raw_test = wine[0].astype(np.float64), wine[2].astype(np.float64)
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    assert np.allclose(X_train.min(axis=0), -1) and np.allclose(X_train.max(axis=0), 1)
    assert np.allclose(X_test, 2 * (raw_test - low) / (high - low) - 1, atol=1e-5)


def test_center(wine):
    X_train, _, X_test, _ = shared_datasets.load("wine", preprocessing="center")
    raw_train, raw_test = wine[0].astype(np.float64), wine[2].astype(np.float64)
    assert np.allclose(X_train.mean(axis=0), 0, atol=1e-3)
    assert np.allclose(X_test, raw_test - raw_train.mean(axis=0), atol=1e-3)


def test_sparse_keeps_sparsity():
    X = sp.random(50, 8, density=0.3, random_state=0, format="csr") * 10
    Xt = sp.random(5, 8, density=0.3, random_state=1, format="csr")
    scaled, scaled_test = preprocess(X, Xt, "unit_variance")
    assert sp.issparse(scaled) and scaled.nnz == X.nnz
    assert np.allclose(scaled.toarray(), X.toarray() / X.toarray().std(axis=0))
    maxabs, _ = preprocess(X, Xt, "minmax")
    assert np.allclose(abs(maxabs).max(axis=0).toarray(), 1)
    with pytest.raises(shared_datasets.InvalidParameterError, match="dense"):
        preprocess(X, Xt, "center")


def test_unknown_preprocessing():
    with pytest.raises(shared_datasets.InvalidParameterError, match="unit_norm"):
        shared_datasets.load("iris", preprocessing="zscore")


def test_as_sparse_round_trip(wine):
    X_train, _, X_test, _ = shared_datasets.load("wine", as_sparse=True)
    assert sp.isspmatrix_csr(X_train) and np.array_equal(X_train.toarray(), wine[0])
    X_dense = shared_datasets.load(
        "lshtc_like", as_sparse=False, n_samples=300, n_features=500, n_classes=5
    )[0]
    assert isinstance(X_dense, np.ndarray) and X_dense.shape == (270, 500)
    with pytest.raises(shared_datasets.InvalidParameterError):
        shared_datasets.load("iris", as_sparse="yes")
