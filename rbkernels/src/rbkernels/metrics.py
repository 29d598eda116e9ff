"""Kernel approximation error (Eq. IV.8) and kernel-target alignment (Eq. IV.9)."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from keras import ops
from numpy.typing import ArrayLike

from ._validation import check_finite_array
from .kernels import kernel_matrix

__all__ = [
    "kernel_approximation_error",
    "optimal_kernel_approximation_error",
    "kernel_target_alignment",
    "alignment_loss",
    "paired_squared_error",
]


def _feature_map(features):
    if hasattr(features, "transform"):
        return lambda Z: np.asarray(features.transform(Z), dtype=np.float64)
    if callable(features):
        return lambda Z: np.asarray(ops.convert_to_numpy(features(Z)), dtype=np.float64)
    raise TypeError(
        "features must be a fitted transformer (with .transform) or a callable feature "
        f"map such as a basis layer, got {type(features).__name__}."
    )


def _sigma_of(features):
    for attr in ("sigma_", "sigma"):
        value = getattr(features, attr, None)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    gamma = getattr(features, "gamma", None)  # sklearn's RBFSampler: gamma = 1/(2 sigma^2)
    if isinstance(gamma, (int, float)) and gamma > 0:
        return float(np.sqrt(1.0 / (2.0 * gamma)))
    return None


def kernel_approximation_error(
    features: Any,
    X: ArrayLike,
    kernel: str | Callable,
    *,
    Y: ArrayLike | None = None,
    sigma: float | None = None,
) -> float:
    """Mean of ``1/2 (k(x, y) - phi(x)·phi(y))^2`` over all pairs of ``X`` x ``Y`` (Eq. IV.8).

    Parameters
    ----------
    features : fitted transformer or callable
        Feature map: anything with ``transform`` (``BasisFeatures``, ``RBFSampler``) or a
        callable such as a basis layer.
    X : array of shape (n, d)
    kernel : {"gaussian", "arccos", "arccos2", "arccos3"} or callable
        The exact kernel, by name or as ``kernel(X, Y) -> Gram matrix``.
    Y : array of shape (m, d), optional
        Defaults to ``X``.
    sigma : float, optional
        Bandwidth of the Gaussian kernel; by default taken from ``features``
        (``sigma_``, ``sigma`` or RBFSampler's ``gamma = 1/(2 sigma^2)``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_approximation import RBFSampler
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> small = RBFSampler(gamma=0.1, n_components=10, random_state=0).fit(X)
    >>> large = RBFSampler(gamma=0.1, n_components=2000, random_state=0).fit(X)
    >>> bool(kernel_approximation_error(large, X, "gaussian")
    ...      < kernel_approximation_error(small, X, "gaussian"))
    True
    """
    X = check_finite_array(X)
    Y = X if Y is None else check_finite_array(Y, name="Y")
    phi = _feature_map(features)
    approx = phi(X) @ phi(Y).T
    if callable(kernel):
        exact = np.asarray(ops.convert_to_numpy(kernel(X, Y)), dtype=np.float64)
    else:
        if kernel == "gaussian" and sigma is None:
            sigma = _sigma_of(features)
            if sigma is None:
                raise ValueError(
                    "the Gaussian kernel needs sigma; pass sigma=... or a feature map "
                    "that carries it (sigma_, sigma or gamma)."
                )
        exact = np.asarray(
            ops.convert_to_numpy(kernel_matrix(kernel, X, Y, sigma=sigma)), dtype=np.float64
        )
    return float(np.mean(0.5 * (exact - approx) ** 2))


def optimal_kernel_approximation_error(
    K: ArrayLike, n_components: int | ArrayLike
) -> float | np.ndarray:
    """Smallest KAE any feature map of width ``n_components`` can reach on ``K`` (Eckart–Young).

    :func:`kernel_approximation_error` is ``||K - Phi_X Phi_Y^T||_F^2 / (2 n m)`` and
    ``Phi_X Phi_Y^T`` has rank at most ``D = n_components`` whatever the feature map, so by
    the Eckart–Young theorem no D-dimensional map can do better than the best rank-D
    approximation of ``K``: ``sum_{i > D} s_i^2 / (2 n m)`` with ``s_i`` the singular values
    of ``K`` in decreasing order. For a kernel matrix of one point set (``K`` symmetric
    positive semi-definite) ``s_i`` are its eigenvalues and the optimum is attained by the
    feature map ``Phi = U_D Lambda_D^{1/2}`` of the truncated eigendecomposition.

    Parameters
    ----------
    K : array of shape (n, m)
        Exact kernel matrix of the evaluation points (e.g. ``kernel_matrix(kernel, X, Y)``).
    n_components : int or 1-d sequence of int
        Feature width(s) D >= 0; widths >= ``min(n, m)`` give 0.

    Returns
    -------
    float or ndarray of float
        The optimal KAE at each width (a float for an int ``n_components``).

    Examples
    --------
    >>> import numpy as np
    >>> from rbkernels import BasisFeatures, kernel_approximation_error, kernel_matrix
    >>> X = np.random.default_rng(0).normal(size=(60, 5))
    >>> phi = BasisFeatures(n_components=20, sigma=2.0, random_state=0).fit(X)
    >>> K = np.asarray(kernel_matrix("gaussian", X, X, sigma=2.0), dtype=np.float64)
    >>> bool(optimal_kernel_approximation_error(K, 20)
    ...      <= kernel_approximation_error(phi, X, "gaussian"))
    True
    """
    K = check_finite_array(np.asarray(ops.convert_to_numpy(K)), name="K").astype(np.float64)
    if K.size == 0:
        raise ValueError(f"K has shape {K.shape}; pass the kernel matrix of at least one pair.")
    scalar = np.ndim(n_components) == 0
    widths = np.atleast_1d(np.asarray(n_components))
    if widths.ndim != 1 or not all(
        isinstance(w, numbers.Integral) and not isinstance(w, (bool, np.bool_))
        for w in widths.tolist()
    ):
        raise TypeError(
            f"n_components must be an int or a 1-d sequence of ints, got {n_components!r}; "
            "pass e.g. n_components=100 or [50, 100]."
        )
    if np.any(widths < 0):
        raise ValueError(f"n_components must be >= 0, got {n_components!r}.")
    squares = np.linalg.svd(K, compute_uv=False) ** 2  # decreasing
    # tail[D] = sum of the squared singular values beyond the D largest.
    tail = np.concatenate([np.cumsum(squares[::-1])[::-1], [0.0]])
    errors = tail[np.minimum(widths, len(squares))] / (2.0 * K.size)
    return float(errors[0]) if scalar else errors


def kernel_target_alignment(K: ArrayLike, y: ArrayLike) -> float:
    """Alignment ``<K, K_Y> / sqrt(<K, K> <K_Y, K_Y>)`` of Eq. IV.9, ``K_Y = [y_i == y_j]``.

    Parameters
    ----------
    K : array of shape (n, n)
        Kernel matrix.
    y : array of shape (n,)
        Class labels.

    Returns
    -------
    float in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 1])
    >>> kernel_target_alignment((y[:, None] == y[None, :]).astype(float), y)
    1.0
    """
    K = np.asarray(K, dtype=np.float64)
    y = np.asarray(y)
    KY = (y[:, None] == y[None, :]).astype(np.float64)
    return float(np.sum(K * KY) / np.sqrt(np.sum(K * K) * np.sum(KY * KY)))


def alignment_loss(y_true: ArrayLike, y_pred: ArrayLike) -> Any:
    """Negative alignment of the batch kernel ``phi phi^T`` with ``Y Y^T`` (one-hot ``y_true``).

    The loss that SAB minimises on batches of 64 samples (Eq. IV.9); ``keras.ops`` only.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.eye(2, dtype="float32")[[0, 0, 1]]
    >>> round(float(alignment_loss(Y, Y)), 4)
    -1.0
    """
    y_true = ops.cast(y_true, y_pred.dtype)
    K = ops.matmul(y_pred, ops.transpose(y_pred))
    KY = ops.matmul(y_true, ops.transpose(y_true))
    num = ops.sum(K * KY)
    den = ops.sqrt(ops.sum(K * K) * ops.sum(KY * KY)) + 1e-12
    return -num / den


def paired_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> Any:
    """``1/2 (k - phi(x) . phi(x'))^2`` per pair: the UAB loss of Eq. IV.8 (``keras.ops``).

    Examples
    --------
    >>> import numpy as np
    >>> float(np.mean(paired_squared_error(np.array([1.0]), np.array([0.0]))))
    0.5
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
    return 0.5 * ops.square(y_true - y_pred)
