"""The Eckart–Young lower bound on the kernel approximation error."""

import numpy as np
import pytest

from rbkernels import (
    BasisFeatures,
    kernel_approximation_error,
    kernel_matrix,
    optimal_kernel_approximation_error,
)


def _gaussian(X, Y, sigma):
    return np.asarray(kernel_matrix("gaussian", X, Y, sigma=sigma), dtype=np.float64)


def test_optimum_is_the_error_of_the_truncated_eigendecomposition(rng):
    X = rng.normal(size=(80, 6))
    K = _gaussian(X, X, 2.5)
    lam, U = np.linalg.eigh(K)
    lam, U = lam[::-1], U[:, ::-1]
    widths = [0, 1, 5, 20, 79, 80, 200]
    optimum = optimal_kernel_approximation_error(K, widths)
    for D, best in zip(widths, optimum):
        Phi = U[:, :D] * np.sqrt(np.clip(lam[:D], 0, None))  # the rank-D optimal feature map
        truncated = kernel_approximation_error(lambda Z, P=Phi: P, X, lambda A, B: K)
        assert best == pytest.approx(truncated, rel=1e-9, abs=1e-15)
        assert best == pytest.approx(0.5 * np.mean((K - Phi @ Phi.T) ** 2), rel=1e-9, abs=1e-15)
    assert optimum[0] == pytest.approx(0.5 * np.mean(K**2))
    assert optimum[-1] == 0.0 and optimum[-2] == pytest.approx(0.0, abs=1e-20)
    assert np.all(np.diff(optimum) <= 0)
    # Any other rank-20 factor does worse than the truncated eigendecomposition.
    other = U[:, 1:21] * np.sqrt(lam[1:21])
    assert 0.5 * np.mean((K - other @ other.T) ** 2) > optimum[3] * 1.01


def test_rectangular_optimum_is_the_truncated_svd(rng):
    X, Y = rng.normal(size=(40, 3)), rng.normal(size=(25, 3))
    K = _gaussian(X, Y, 1.5)
    U, s, Vt = np.linalg.svd(K)
    best = (U[:, :7] * s[:7]) @ Vt[:7]
    assert optimal_kernel_approximation_error(K, 7) == pytest.approx(0.5 * np.mean((K - best) ** 2))


@pytest.mark.backend
def test_rb_and_uab_never_beat_the_eckart_young_optimum(digits):
    Xt, _, Xs, _ = digits
    X = Xs[:150].astype(np.float64)
    maps = [BasisFeatures(n_components=D, sigma=4.0, random_state=0).fit(Xt) for D in (4, 16, 64)]
    maps.append(
        BasisFeatures(
            n_components=8,
            sigma=4.0,
            adapt="uab",
            max_epochs=3,
            train_batches=20,
            batch_size=256,
            random_state=0,
        ).fit(Xt)
    )
    K = _gaussian(X, X, 4.0)
    for f in maps:
        kae = kernel_approximation_error(f, X, "gaussian")
        best = optimal_kernel_approximation_error(K, f.n_components)
        # Not below the optimum, but of the same order (it is a useful reference, not 0).
        assert best <= kae < 200 * best, (f.n_components, f.adapt, kae, best)


def test_bad_arguments_are_rejected(rng):
    K = _gaussian(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), 1.0)
    with pytest.raises(TypeError, match="n_components"):
        optimal_kernel_approximation_error(K, 2.5)
    with pytest.raises(TypeError, match="n_components"):
        optimal_kernel_approximation_error(K, True)
    with pytest.raises(ValueError, match=">= 0"):
        optimal_kernel_approximation_error(K, [3, -1])
    with pytest.raises(ValueError, match="2-d"):
        optimal_kernel_approximation_error(K[0], 2)
    with pytest.raises(ValueError, match="NaN"):
        optimal_kernel_approximation_error(np.full((3, 3), np.nan), 1)
