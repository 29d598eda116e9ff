"""What the three bases share: input checks, the width bookkeeping, the ``units`` name."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

from .._validation import check_finite_array


def resolve_units(cls_name: str, units: int | None, n_features: int | None) -> int:
    """``units``, or the deprecated ``n_features=`` alias with a ``DeprecationWarning``."""
    if n_features is None:
        if units is None:
            raise TypeError(f"{cls_name} needs the basis width: pass units=..., e.g. units=100.")
        return units
    if units is not None:
        raise TypeError(
            f"{cls_name} got both units={units!r} and n_features={n_features!r}; "
            "n_features is the deprecated name of units: pass units only."
        )
    warnings.warn(
        f"{cls_name}(n_features=...) is deprecated and will be removed in rbkernels 0.3; "
        "pass units=... (Keras' name for a layer's width).",
        DeprecationWarning,
        stacklevel=3,
    )
    return n_features


class KernelBasis(keras.layers.Layer):
    """Base class of the kernel feature maps ``phi: R^d -> R^D``.

    Subclasses create their weights in ``build`` once the input width ``d`` is known;
    afterwards inputs of another width raise ``ValueError`` (via ``input_spec``).
    NumPy inputs are checked for NaN/inf before they reach the backend.
    """

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (np.ndarray, list)):
            check_finite_array(np.asarray(inputs), name="inputs", ndim=np.ndim(inputs))
        return super().__call__(inputs, *args, **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KernelBasis:
        # Configs saved by rbkernels 0.1 name the width n_features; read them as units
        # (quietly: the file, not the caller, holds the old name).
        config = dict(config)
        if "n_features" in config:
            config.setdefault("units", config.pop("n_features"))
        return cls(**config)

    def _input_width(self, input_shape):
        d = input_shape[-1]
        if d is None:
            raise ValueError(
                f"{type(self).__name__} needs a known input width (last axis), got "
                f"input shape {input_shape}."
            )
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: int(d)})
        return int(d)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape[:-1]) + (self.output_dim,)
