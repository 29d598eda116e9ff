"""What the three bases share: input checks and the width bookkeeping."""

import keras
import numpy as np

from .._validation import check_finite_array


class KernelBasis(keras.layers.Layer):
    """Base class of the kernel feature maps ``phi: R^d -> R^D``.

    Subclasses create their weights in ``build`` once the input width ``d`` is known;
    afterwards inputs of another width raise ``ValueError`` (via ``input_spec``).
    NumPy inputs are checked for NaN/inf before they reach the backend.
    """

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (np.ndarray, list)):
            check_finite_array(np.asarray(inputs), name="inputs", ndim=np.ndim(inputs))
        return super().__call__(inputs, *args, **kwargs)

    def _input_width(self, input_shape):
        d = input_shape[-1]
        if d is None:
            raise ValueError(
                f"{type(self).__name__} needs a known input width (last axis), got "
                f"input shape {input_shape}."
            )
        self.input_spec = keras.InputSpec(min_ndim=2, axes={-1: int(d)})
        return int(d)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)
