"""Exact kernels against independent NumPy oracles."""

import numpy as np
import pytest
from keras import ops

from rbkernels import arccos_kernel, gaussian_kernel, kernel_matrix, paired_kernel

pytestmark = pytest.mark.backend


def _np(t):
    return np.asarray(ops.convert_to_numpy(t), dtype=np.float64)


def test_gaussian_matches_direct_formula(rng):
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    expected = np.exp(-((X[:, None] - Y[None]) ** 2).sum(-1) / (2 * 1.7**2))
    np.testing.assert_allclose(_np(gaussian_kernel(X, Y, sigma=1.7)), expected, rtol=1e-5)
    np.testing.assert_allclose(
        _np(paired_kernel("gaussian", X[:4], Y, sigma=1.7)), np.diag(expected), rtol=1e-5
    )


def _arccos_oracle(x, y):
    theta = np.arccos(np.clip(x @ y / np.linalg.norm(x) / np.linalg.norm(y), -1, 1))
    return (
        np.linalg.norm(x)
        * np.linalg.norm(y)
        * (np.sin(theta) + (np.pi - theta) * np.cos(theta))
        / (2 * np.pi)
    )


def test_arccos_closed_form_and_normalisation(rng):
    X = rng.normal(size=(6, 4))
    K = _np(arccos_kernel(X))
    expected = np.array([[_arccos_oracle(a, b) for b in X] for a in X])
    np.testing.assert_allclose(K, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.diag(K), (X**2).sum(1) / 2, rtol=1e-5)  # k(x, x) = ||x||^2 / 2


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_deep_arccos_equals_wide_relu_network_monte_carlo(rng, n_layers):
    """Each layer of an infinitely wide ReLU net with sqrt(1/D) scaling maps the Gram
    matrix K to E[relu(u) relu(u)^T], u ~ N(0, K): a Monte-Carlo oracle layer by layer."""
    X = rng.normal(size=(4, 3))
    mc = X @ X.T
    for _ in range(n_layers):
        u = rng.multivariate_normal(np.zeros(4), mc, size=400_000, method="eigh")
        r = np.maximum(u, 0)
        mc = r.T @ r / len(r)
    K = _np(arccos_kernel(X, n_layers=n_layers))
    np.testing.assert_allclose(K, mc, rtol=0.05, atol=0.02 * np.abs(mc).max())
    np.testing.assert_allclose(np.diag(K), (X**2).sum(1) / 2**n_layers, rtol=1e-4)
    np.testing.assert_allclose(
        _np(paired_kernel(f"arccos{n_layers if n_layers > 1 else ''}", X, X[::-1])),
        np.diag(K[:, ::-1]),
        rtol=1e-4,
    )


def test_zero_vector_gives_zero_arccos_kernel():
    X = np.array([[0.0, 0.0], [1.0, 2.0]])
    K = _np(kernel_matrix("arccos2", X))
    assert K[0, 0] == 0 and K[0, 1] == 0 and np.isfinite(K).all()
