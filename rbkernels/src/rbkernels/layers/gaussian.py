"""Gaussian kernel basis: random (orthogonal) Fourier features, Eq. IV.10."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops
from numpy.typing import ArrayLike

from .._validation import check_n_features, check_sigma
from .base import KernelBasis, resolve_units
from .initializers import OrthogonalRandomFeatures

__all__ = ["GaussianBasis", "sin_cos_features"]


def sin_cos_features(z: Any, units: int) -> Any:
    """``sqrt(2/D) [sin(z), cos(z)]`` truncated to width ``D = units`` (the last sine goes for odd D)."""
    n_freq = z.shape[-1]
    parts = (
        [ops.sin(z[..., : units - n_freq]), ops.cos(z)]
        if units > n_freq
        else [ops.sin(z), ops.cos(z)]
    )
    if units == n_freq:  # D = 1: a single cosine
        parts = [ops.cos(z)]
    return math.sqrt(2.0 / units) * ops.concatenate(parts, axis=-1)


@keras.saving.register_keras_serializable(package="rbkernels")
class GaussianBasis(KernelBasis):
    """Feature map ``phi(x) = sqrt(2/D) [sin(x G / sigma), cos(x G / sigma)]`` (Eq. IV.10).

    ``G`` (shape ``d x D/2``) is the trainable basis, initialised with orthogonal random
    features; ``1/sigma`` is a fixed constant, which is what makes the trigonometric
    basis trainable end to end (Chapter IV, §4 "Optimizing the basis"). Freeze ``G``
    with ``layer.trainable = False`` for a random basis (RB).

    ``D = units`` is the output width, as ``n_components`` of scikit-learn's
    ``RBFSampler``: ``D/2`` frequencies, each giving a sine and a cosine. The factor is
    ``sqrt(2/D) = sqrt(1/(D/2))`` so that ``E[phi(x) . phi(x')] = k(x, x')`` exactly;
    Eq. IV.4's ``sqrt(1/D)`` read with ``D`` the width would estimate ``k/2``.

    Parameters
    ----------
    units : int
        Output width D >= 1 (Keras' ``units``). An odd D has ``(D+1)/2`` frequencies and drops the last
        sine, which biases the estimate by ``E[cos(w.(x+x'))]/D``: prefer even widths.
    sigma : float
        Kernel bandwidth, > 0 (see :func:`rbkernels.sigma_heuristic`).
    orthogonal : bool, default True
        Orthogonal random features (True) or i.i.d. Gaussian entries (False).
    seed : int or None
        Seed of the initialisation.
    n_features : int, optional
        Deprecated name of ``units`` (``DeprecationWarning``).
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``trainable``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> layer = GaussianBasis(512, sigma=1.0, seed=0)
    >>> x = np.zeros((1, 3), "float32")
    >>> phi = np.asarray(layer(x))
    >>> phi.shape, round(float((phi @ phi.T)[0, 0]), 4)   # k(x, x) = 1
    ((1, 512), 1.0)
    """

    def __init__(
        self,
        units: int | None = None,
        sigma: float | None = None,
        *,
        orthogonal: bool = True,
        seed: int | None = None,
        n_features: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        units = resolve_units(type(self).__name__, units, n_features)
        self.units = check_n_features(units, name="units")
        self.sigma = check_sigma(sigma)
        self.orthogonal = bool(orthogonal)
        self.seed = seed
        self.n_frequencies = (self.units + 1) // 2
        self.output_dim = self.units

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = self._input_width(input_shape)
        init = (
            OrthogonalRandomFeatures(seed=self.seed)
            if self.orthogonal
            else keras.initializers.RandomNormal(stddev=1.0, seed=self.seed)
        )
        self.kernel = self.add_weight(
            name="kernel", shape=(d, self.n_frequencies), initializer=init
        )

    def projection(self, inputs: ArrayLike) -> Any:
        """``x G / sigma``, the frequencies' phases (shape ``(n, D/2)``)."""
        return ops.matmul(inputs, self.kernel) / self.sigma

    def call(self, inputs: Any) -> Any:
        z = self.projection(ops.cast(inputs, self.compute_dtype))
        return sin_cos_features(z, self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            sigma=self.sigma,
            orthogonal=self.orthogonal,
            seed=self.seed,
        )
        return config
