"""Exact kernels that the random and adapted bases approximate (Chapter IV, §3).

All functions are written with ``keras.ops`` and accept NumPy arrays or backend
tensors. Two forms are offered:

* ``*_kernel(X, Y)`` - the Gram matrix ``K[i, j] = k(X[i], Y[j])``;
* ``paired_kernel(name, X, Y)`` - the vector ``k(X[i], Y[i])`` for sampled pairs
  (the targets of the unsupervised adaptation, Eq. IV.8).

Normalisation
-------------
The Gaussian kernel is ``exp(-||x - x'||^2 / (2 sigma^2))`` (so ``k(x, x) = 1``).
The ArcCos kernel of order 1 is the one that the feature map
``sqrt(1/D) max(0, x W)`` with ``W ~ N(0, 1)`` estimates without bias,

    k(x, x') = 1/(2 pi) ||x|| ||x'|| J(theta),  J(theta) = sin(theta) + (pi - theta) cos(theta),

i.e. half of Cho & Saul's ``1/pi ||x|| ||x'|| J(theta)``; hence ``k(x, x) = ||x||^2 / 2``.
The deep kernels ArcCos2/ArcCos3 apply the same step to the previous layer's kernel
(§5.2 "Deep kernel machines"):

    k_{i+1}(x, x') = 1/(2 pi) sqrt(k_i(x, x) k_i(x', x')) J(theta_i),
    theta_i = arccos(k_i(x, x') / sqrt(k_i(x, x) k_i(x', x'))).
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops
from numpy.typing import ArrayLike

from ._validation import arccos_layers, check_kernel_name, check_sigma

__all__ = ["gaussian_kernel", "arccos_kernel", "paired_kernel", "kernel_matrix"]


def _as_float(X):
    X = ops.convert_to_tensor(X)
    if "float" not in str(X.dtype):
        X = ops.cast(X, "float32")
    return X


def _arccos_step(kxx, kyy, kxy):
    """One ArcCos-1 layer on (self, self, cross) kernel values, broadcasting."""
    norm = ops.sqrt(ops.maximum(kxx * kyy, 0.0))
    safe = ops.where(norm > 0, norm, ops.ones_like(norm))
    cos = ops.clip(kxy / safe, -1.0, 1.0)
    theta = ops.arccos(cos)
    j = ops.sin(theta) + (math.pi - theta) * cos
    kxy_new = ops.where(norm > 0, norm * j / (2.0 * math.pi), ops.zeros_like(norm))
    return kxx / 2.0, kyy / 2.0, kxy_new


def gaussian_kernel(X: ArrayLike, Y: ArrayLike | None = None, *, sigma: float) -> Any:
    """Gram matrix of the Gaussian kernel ``exp(-||x - y||^2 / (2 sigma^2))``.

    Parameters
    ----------
    X : array of shape (n, d)
    Y : array of shape (m, d), optional
        Defaults to ``X``.
    sigma : float
        Bandwidth, > 0.

    Returns
    -------
    K : tensor of shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> K = ops.convert_to_numpy(gaussian_kernel(np.eye(2), sigma=1.0))
    >>> np.round(K, 4).tolist()
    [[1.0, 0.3679], [0.3679, 1.0]]
    """
    sigma = check_sigma(sigma)
    X = _as_float(X)
    Y = X if Y is None else ops.cast(_as_float(Y), X.dtype)
    sq = (
        ops.sum(X * X, axis=1)[:, None]
        + ops.sum(Y * Y, axis=1)[None, :]
        - 2.0 * ops.matmul(X, ops.transpose(Y))
    )
    return ops.exp(-ops.maximum(sq, 0.0) / (2.0 * sigma**2))


def arccos_kernel(X: ArrayLike, Y: ArrayLike | None = None, *, n_layers: int = 1) -> Any:
    """Gram matrix of the (deep) ArcCos kernel of order 1 with ``k(x, x) = ||x||^2 / 2``.

    Parameters
    ----------
    X : array of shape (n, d)
    Y : array of shape (m, d), optional
        Defaults to ``X``.
    n_layers : int
        1 for ArcCos, 2 for ArcCos2, 3 for ArcCos3.

    Returns
    -------
    K : tensor of shape (n, m)

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> K = ops.convert_to_numpy(arccos_kernel(np.array([[1.0, 0.0], [0.0, 2.0]])))
    >>> np.round(K, 4).tolist()   # diagonal ||x||^2 / 2, off-diagonal ||x|| ||y|| / (2 pi)
    [[0.5, 0.3183], [0.3183, 2.0]]
    """
    if n_layers not in (1, 2, 3):
        raise ValueError(f"n_layers must be 1, 2 or 3, got {n_layers!r}.")
    X = _as_float(X)
    Y = X if Y is None else ops.cast(_as_float(Y), X.dtype)
    kxx = ops.sum(X * X, axis=1)[:, None]
    kyy = ops.sum(Y * Y, axis=1)[None, :]
    kxy = ops.matmul(X, ops.transpose(Y))
    for _ in range(n_layers):
        kxx, kyy, kxy = _arccos_step(kxx, kyy, kxy)
    return kxy


def kernel_matrix(
    kernel: str, X: ArrayLike, Y: ArrayLike | None = None, *, sigma: float | None = None
) -> Any:
    """Gram matrix of the kernel named ``kernel`` ("gaussian", "arccos", "arccos2", "arccos3").

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> float(ops.convert_to_numpy(kernel_matrix("arccos", np.ones((1, 2))))[0, 0])
    1.0
    """
    kernel = check_kernel_name(kernel)
    if kernel == "gaussian":
        return gaussian_kernel(X, Y, sigma=sigma)
    return arccos_kernel(X, Y, n_layers=arccos_layers(kernel))


def paired_kernel(kernel: str, X: ArrayLike, Y: ArrayLike, *, sigma: float | None = None) -> Any:
    """Kernel values of pairs, ``k(X[i], Y[i])``, as a vector of length n.

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> v = paired_kernel("gaussian", np.zeros((2, 3)), np.ones((2, 3)), sigma=1.0)
    >>> np.round(ops.convert_to_numpy(v), 4).tolist()
    [0.2231, 0.2231]
    """
    kernel = check_kernel_name(kernel)
    X = _as_float(X)
    Y = ops.cast(_as_float(Y), X.dtype)
    if kernel == "gaussian":
        sigma = check_sigma(sigma)
        return ops.exp(-ops.sum(ops.square(X - Y), axis=1) / (2.0 * sigma**2))
    kxx = ops.sum(X * X, axis=1)
    kyy = ops.sum(Y * Y, axis=1)
    kxy = ops.sum(X * Y, axis=1)
    for _ in range(arccos_layers(kernel)):
        kxx, kyy, kxy = _arccos_step(kxx, kyy, kxy)
    return kxy
