"""Initialisers of the random bases, in ``keras.ops`` / ``keras.random`` only."""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["OrthogonalRandomFeatures", "Rademacher"]


@keras.saving.register_keras_serializable(package="rbkernels")
class OrthogonalRandomFeatures(keras.initializers.Initializer):
    """Orthogonal random features (Yu et al., 2016): ``G = Q S`` block by block.

    For a kernel of shape ``(d, m)`` the columns are drawn in blocks of ``d``: each
    block is ``Q diag(s)`` with ``Q`` the orthogonal factor of the QR decomposition of a
    ``d x d`` standard Gaussian matrix (signs fixed so that ``Q`` is Haar distributed) and
    ``s`` i.i.d. chi(d)-distributed scales (norms of independent ``d``-dim Gaussian
    vectors), so each column has the marginal law of ``N(0, I_d)`` while the columns of
    a block are exactly orthogonal. Blocks are stacked until ``m`` columns exist.

    Parameters
    ----------
    seed : int or None

    Examples
    --------
    >>> import numpy as np
    >>> G = np.asarray(OrthogonalRandomFeatures(seed=0)((4, 4)))
    >>> Q = G / np.linalg.norm(G, axis=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(4), atol=1e-5))
    True
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"OrthogonalRandomFeatures needs a 2-d shape, got {shape}.")
        d, m = int(shape[0]), int(shape[1])
        n_blocks = math.ceil(m / d)
        generator = keras.random.SeedGenerator(self.seed)
        gauss = keras.random.normal((n_blocks, d, d), seed=generator, dtype="float32")
        q, r = ops.linalg.qr(gauss, mode="reduced")
        # Sign correction (Mezzadri 2007): makes Q Haar distributed.
        signs = ops.sign(ops.diagonal(r, axis1=-2, axis2=-1))
        signs = ops.where(signs == 0, ops.ones_like(signs), signs)
        q = q * signs[:, None, :]
        scales = ops.sqrt(
            ops.sum(ops.square(keras.random.normal((n_blocks, d, d), seed=generator)), axis=1)
        )
        blocks = q * scales[:, None, :]  # (n_blocks, d, d), column j scaled by s_j
        columns = ops.reshape(ops.transpose(blocks, (1, 0, 2)), (d, n_blocks * d))
        return ops.cast(columns[:, :m], dtype or "float32")

    def get_config(self) -> dict:
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="rbkernels")
class Rademacher(keras.initializers.Initializer):
    """Independent random signs +-1 (the diagonals ``D_i`` of the fast Hadamard basis).

    Examples
    --------
    >>> import numpy as np
    >>> sorted(np.unique(np.asarray(Rademacher(seed=0)((3, 8)))).tolist())
    [-1.0, 1.0]
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        bits = keras.random.randint(shape, 0, 2, seed=self.seed)
        return ops.cast(2 * bits - 1, dtype or "float32")

    def get_config(self) -> dict:
        return {"seed": self.seed}
