"""Fast Gaussian basis ``W = (sqrt(d)/sigma) H D_1 ... H D_k`` (§5.2 "Fast kernel machines")."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops
from numpy.typing import ArrayLike

from .._validation import check_choice_int, check_n_features, check_sigma
from .base import KernelBasis, resolve_units
from .gaussian import sin_cos_features
from .initializers import Rademacher
from .walsh_hadamard import fast_walsh_hadamard

__all__ = ["HadamardBasis"]


@keras.saving.register_keras_serializable(package="rbkernels")
class HadamardBasis(KernelBasis):
    """Gaussian features with a structured basis of 1-3 Hadamard blocks (SORF, Yu et al. 2016).

    The input is zero-padded to ``p = 2^ceil(log2 d)``; each stack of ``p`` frequencies is
    ``x -> (sqrt(p)/sigma) x (D_k H ... D_1 H)`` with ``H`` the orthonormal Walsh-Hadamard
    matrix (applied by :func:`fast_walsh_hadamard` in O(p log p)) and ``D_i`` diagonal,
    Rademacher-initialised. Stacks are drawn independently until ``D/2`` frequencies exist.
    The output is ``sqrt(2/D) [sin, cos]`` as in :class:`GaussianBasis`. Only the diagonals
    are trainable: O(D) parameters instead of O(dD).

    Parameters
    ----------
    units : int
        Output width D >= 1 (see :class:`GaussianBasis` for odd D).
    sigma : float
        Bandwidth, > 0.
    n_blocks : {1, 2, 3}, default 3
        Number of ``H D_i`` blocks; more blocks give a better Gaussian approximation.
    seed : int or None
    n_features : int, optional
        Deprecated name of ``units`` (``DeprecationWarning``).
    **kwargs
        Passed to ``keras.layers.Layer``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = HadamardBasis(64, sigma=2.0, n_blocks=2, seed=0)
    >>> phi = np.asarray(layer(np.ones((1, 5), "float32")))
    >>> phi.shape, layer.padded_dim, round(float((phi @ phi.T)[0, 0]), 4)
    ((1, 64), 8, 1.0)
    """

    def __init__(
        self,
        units: int | None = None,
        sigma: float | None = None,
        *,
        n_blocks: int = 3,
        seed: int | None = None,
        n_features: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        units = resolve_units(type(self).__name__, units, n_features)
        self.units = check_n_features(units, name="units")
        self.n_blocks = check_choice_int(
            n_blocks, name="n_blocks (Hadamard blocks)", choices=(1, 2, 3)
        )
        self.sigma = check_sigma(sigma)
        self.seed = seed
        self.n_frequencies = (self.units + 1) // 2
        self.output_dim = self.units

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = self._input_width(input_shape)
        self.input_width = d
        self.padded_dim = 1 << max(0, (d - 1).bit_length())
        self.n_stacks = math.ceil(self.n_frequencies / self.padded_dim)
        self.diagonals = self.add_weight(
            name="diagonals",
            shape=(self.n_stacks, self.n_blocks, self.padded_dim),
            initializer=Rademacher(seed=self.seed),
        )

    def projection(self, inputs: ArrayLike) -> Any:
        """Phases ``x W`` of the ``D/2`` frequencies, shape ``(n, D/2)``."""
        x = ops.cast(inputs, self.compute_dtype)
        if self.padded_dim > self.input_width:
            x = ops.pad(x, [(0, 0), (0, self.padded_dim - self.input_width)])
        z = ops.expand_dims(x, 1)  # (n, 1, p), broadcast over the stacks
        for i in reversed(range(self.n_blocks)):
            z = fast_walsh_hadamard(z * self.diagonals[:, i, :], normalize=True)
        z = ops.reshape(z, (-1, self.n_stacks * self.padded_dim))[:, : self.n_frequencies]
        return z * (math.sqrt(self.padded_dim) / self.sigma)

    def call(self, inputs: Any) -> Any:
        return sin_cos_features(self.projection(inputs), self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            sigma=self.sigma,
            n_blocks=self.n_blocks,
            seed=self.seed,
        )
        return config
