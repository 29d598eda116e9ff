"""Fast Walsh-Hadamard transform in ``keras.ops`` (§5.2 "Fast kernel machines")."""

from __future__ import annotations

import math
from typing import Any

from keras import ops

__all__ = ["fast_walsh_hadamard"]


def fast_walsh_hadamard(x: Any, *, normalize: bool = False) -> Any:
    """Multiply the last axis of ``x`` by the Sylvester Hadamard matrix in O(d log d).

    Equals ``x @ scipy.linalg.hadamard(d)`` (the matrix is symmetric), or that divided by
    ``sqrt(d)`` with ``normalize=True`` (then the transform is orthogonal).

    Parameters
    ----------
    x : tensor of shape (..., d), d a power of two, known statically.
    normalize : bool, default False

    Returns
    -------
    tensor of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from keras import ops
    >>> ops.convert_to_numpy(fast_walsh_hadamard(np.array([[1.0, 0.0, 0.0, 0.0]]))).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    x = ops.convert_to_tensor(x)
    tail = tuple(x.shape[1:])
    d = x.shape[-1]
    if d is None or d < 1 or (d & (d - 1)) != 0:
        raise ValueError(
            f"the Walsh-Hadamard transform needs a last axis whose length is a power "
            f"of two, got {d}; zero-pad the input first."
        )
    y = ops.reshape(x, (-1, d))
    h = 1
    # Butterfly on bit log2(h): pairs (i, i + h) inside blocks of length 2h.
    while h < d:
        y = ops.reshape(y, (-1, d // (2 * h), 2, h))
        a, b = y[:, :, 0, :], y[:, :, 1, :]
        y = ops.stack([a + b, a - b], axis=2)
        h *= 2
    y = ops.reshape(y, (-1,) + tail) if len(tail) else ops.reshape(y, (d,))
    if normalize:
        y = y / math.sqrt(d)
    return y
