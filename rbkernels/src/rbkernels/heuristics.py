"""Bandwidth heuristic of Yu et al. (2015, 2016) used throughout Chapter IV (§5.1)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.neighbors import NearestNeighbors

from ._validation import check_finite_array, check_positive_int

__all__ = ["sigma_heuristic"]


def sigma_heuristic(
    X: ArrayLike,
    *,
    n_samples: int = 1000,
    n_neighbors: int = 50,
    random_state: int | np.random.RandomState | None = None,
) -> float:
    """Gaussian bandwidth: mean distance to the 50th nearest neighbour of 1000 sampled points.

    The sampled points' neighbours are searched in the whole of ``X`` (the point itself
    excluded). With fewer than ``n_neighbors + 1`` samples the farthest other point is used.

    Parameters
    ----------
    X : array of shape (n, d)
    n_samples : int, default 1000
        Number of points whose neighbour distance is averaged (all of ``X`` when it has
        fewer), >= 1.
    n_neighbors : int, default 50
        Which neighbour's distance is used, >= 1.
    random_state : int, RandomState or None

    Returns
    -------
    sigma : float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(10.0)[:, None]
    >>> sigma_heuristic(X, n_neighbors=1)   # every point's nearest neighbour is 1 away
    1.0
    """
    X = check_finite_array(X)
    n_samples = check_positive_int(n_samples, name="n_samples")
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    n = X.shape[0]
    if n < 2:
        raise ValueError(
            f"X has {n} sample(s); the sigma heuristic needs at least 2 samples, "
            "or pass sigma explicitly."
        )
    rng = np.random.default_rng(
        random_state
        if not isinstance(random_state, np.random.RandomState)
        else random_state.randint(2**31)
    )
    idx = rng.choice(n, size=min(n_samples, n), replace=False)
    k = min(n_neighbors, n - 1)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X)
    dist, _ = nn.kneighbors(X[idx])
    sigma = float(np.mean(dist[:, k]))
    if not sigma > 0:
        raise ValueError(
            "the sigma heuristic gave 0 (X has too many duplicate points); pass sigma explicitly."
        )
    return sigma
