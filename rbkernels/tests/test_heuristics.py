"""The sigma heuristic of Yu et al. against a brute-force distance computation."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from rbkernels import sigma_heuristic


def test_sigma_is_mean_50th_neighbour_distance(rng):
    X = rng.normal(size=(300, 5))
    D = np.sort(cdist(X, X), axis=1)  # column 0 is the point itself
    # n_samples >= n: every point is sampled, so the mean is over all of them.
    assert sigma_heuristic(X, n_samples=1000) == pytest.approx(D[:, 50].mean(), rel=1e-10)
    sub = sigma_heuristic(X, n_samples=100, random_state=0)
    idx = np.random.default_rng(0).choice(300, size=100, replace=False)
    assert sub == pytest.approx(D[idx, 50].mean(), rel=1e-10)


def test_sigma_heuristic_small_and_bad_inputs():
    X = np.arange(5.0)[:, None]
    assert sigma_heuristic(X) == pytest.approx(np.mean([4, 3, 2, 3, 4]))  # farthest other point
    with pytest.raises(ValueError, match="at least 2"):
        sigma_heuristic(np.ones((1, 3)))
    with pytest.raises(ValueError, match="duplicate"):
        sigma_heuristic(np.ones((10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        sigma_heuristic(np.array([[0.0], [np.nan]]))
