"""ArcCos kernel bases, shallow (Eq. IV.6/IV.11) and deep (§5.2 "Deep kernel machines")."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from .._validation import check_choice_int, check_n_features
from .base import KernelBasis, resolve_units

__all__ = ["ArcCosBasis", "layer_widths"]


def layer_widths(units: int, n_layers: int) -> list[int]:
    """Split ``units`` evenly over ``n_layers`` (earlier layers take the remainder).

    Examples
    --------
    >>> layer_widths(10, 3)
    [4, 3, 3]
    """
    base, rest = divmod(units, n_layers)
    return [base + (1 if i < rest else 0) for i in range(n_layers)]


@keras.saving.register_keras_serializable(package="rbkernels")
class ArcCosBasis(KernelBasis):
    """ReLU feature map ``phi(x) = sqrt(1/D) max(0, x W)`` of the ArcCos kernel, 1-3 layers.

    With one layer, ``W ~ N(0, 1)`` of shape ``d x D`` estimates without bias the ArcCos
    kernel of order 1 normalised as ``k(x, x) = ||x||^2 / 2``
    (:func:`rbkernels.arccos_kernel`). With ``n_layers`` = 2 or 3 the layer is the deep
    ArcCos2/ArcCos3 feature map ``phi_B2(phi_B1(phi_B0(x)))``; to stay comparable at a
    given number of features the ``units`` (ReLU units) are split evenly over the layers, so
    the output width is that of the last layer (``output_dim``, equal to ``units`` for one
    layer). All ``W_i`` are trainable.

    Parameters
    ----------
    units : int
        Total number of ReLU units over all layers (>= n_layers); the output width with
        one layer.
    n_layers : {1, 2, 3}, default 1
    seed : int or None
    n_features : int, optional
        Deprecated name of ``units`` (``DeprecationWarning``).
    **kwargs
        Passed to ``keras.layers.Layer``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = ArcCosBasis(300, n_layers=3, seed=0)
    >>> tuple(layer(np.ones((2, 5), "float32")).shape), layer.output_dim
    ((2, 100), 100)
    """

    def __init__(
        self,
        units: int | None = None,
        *,
        n_layers: int = 1,
        seed: int | None = None,
        n_features: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        units = resolve_units(type(self).__name__, units, n_features)
        self.n_layers = check_choice_int(
            n_layers, name="n_layers (ArcCos layers)", choices=(1, 2, 3)
        )
        self.units = check_n_features(units, name="units", minimum=self.n_layers)
        self.seed = seed
        self.widths = layer_widths(self.units, self.n_layers)
        self.output_dim = self.widths[-1]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = self._input_width(input_shape)
        self.kernels = []
        fan_in = d
        for i, width in enumerate(self.widths):
            seed = None if self.seed is None else self.seed + 7919 * i
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{i}",
                    shape=(fan_in, width),
                    initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed),
                )
            )
            fan_in = width

    def call(self, inputs: Any) -> Any:
        h = ops.cast(inputs, self.compute_dtype)
        for kernel, width in zip(self.kernels, self.widths):
            h = math.sqrt(1.0 / width) * ops.relu(ops.matmul(h, kernel))
        return h

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(units=self.units, n_layers=self.n_layers, seed=self.seed)
        return config
