"""Questions about layers that conditions and analyzers ask: is it linear, which activation."""

from __future__ import annotations

import keras

from innvestigate.engine import keras_internals

__all__ = [
    "KERNEL_LAYER_TYPES",
    "is_kernel_layer",
    "activation_name",
    "is_activation_layer",
    "is_batch_normalization",
    "is_max_pooling",
    "is_linear_without_kernel",
    "is_shape_only",
    "is_model",
    "is_relu",
    "is_relu_like",
    "operation_kind",
]

KERNEL_LAYER_TYPES = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.EinsumDense,
)

# Linear maps without parameters: LRP distributes relevance in proportion to each input's
# contribution (the Z/epsilon rule taken through the layer's gradient).
_LINEAR_WITHOUT_KERNEL = (
    keras.layers.Add,
    keras.layers.Subtract,
    keras.layers.Average,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
)

# Layers that only move, copy or select values; their gradient conserves relevance.
_SHAPE_ONLY = (
    keras.layers.Concatenate,
    keras.layers.Flatten,
    keras.layers.Reshape,
    keras.layers.Permute,
    keras.layers.RepeatVector,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.Identity,
    keras.layers.InputLayer,
    keras.layers.UpSampling1D,
    keras.layers.UpSampling2D,
    keras.layers.UpSampling3D,
    keras.layers.ActivityRegularization,
    keras.layers.Masking,  # zeros the masked steps: the gradient passes the rest unchanged
)

_MAX_POOLING = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
    keras.layers.Maximum,
)


def is_kernel_layer(layer) -> bool:
    """True for Dense and convolution layers (the layers LRP rules act on)."""
    return isinstance(layer, KERNEL_LAYER_TYPES)


def _function_name(fn) -> str:
    if fn is None:
        return "linear"
    return getattr(fn, "__name__", type(fn).__name__)


def activation_name(layer) -> str | None:
    """The activation a layer applies, by name ('relu', 'softmax', 'linear', ...).

    ``None`` for layers that are not activation layers and have no ``activation`` attribute.
    ReLU layers with a cap, slope or threshold are named 'relu_variant'.
    """
    if isinstance(layer, keras.layers.ReLU):
        plain = (
            layer.max_value is None
            and float(layer.negative_slope) == 0.0
            and float(layer.threshold) == 0.0
        )
        return "relu" if plain else "relu_variant"
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.PReLU):
        return "prelu"
    if isinstance(layer, keras.layers.ELU):
        return "elu"
    if hasattr(layer, "activation"):
        return _function_name(layer.activation)
    return None


def is_activation_layer(layer) -> bool:
    """True for layers that only apply an element-wise activation."""
    return isinstance(
        layer,
        (
            keras.layers.Activation,
            keras.layers.ReLU,
            keras.layers.Softmax,
            keras.layers.LeakyReLU,
            keras.layers.PReLU,
            keras.layers.ELU,
        ),
    )


def is_batch_normalization(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization)


def is_max_pooling(layer) -> bool:
    return isinstance(layer, _MAX_POOLING)


def is_linear_without_kernel(layer) -> bool:
    return isinstance(layer, _LINEAR_WITHOUT_KERNEL)


def is_shape_only(layer) -> bool:
    return isinstance(layer, _SHAPE_ONLY)


def is_model(layer) -> bool:
    return isinstance(layer, keras.Model)


def is_relu(layer) -> bool:
    """True for an activation layer applying a plain ReLU (Activation('relu') or ReLU())."""
    return is_activation_layer(layer) and activation_name(layer) == "relu"


def is_relu_like(layer) -> bool:
    """True for ReLU activation layers, including capped ones (ReLU6) and thresholds."""
    return is_activation_layer(layer) and activation_name(layer) in (
        "relu",
        "relu_variant",
        "relu6",
    )


# ``keras.ops`` calls recorded in a functional model (``x + p``, ``ops.reshape(x, ...)``) are
# Operations, not Layers. Keras exports their functions but not their classes, so they are
# recognised by class name within Keras' own ops (keras_internals.keras_operation_name).
_OPERATION_KINDS = {
    "linear": ("Add", "Subtract", "Negative"),
    "multiply": ("Multiply",),
    "shape": (
        "Reshape",
        "Transpose",
        "ExpandDims",
        "Squeeze",
        "GetItem",
        "Concatenate",
        "Stack",
        "Flip",
        "Roll",
        "Tile",
        "Repeat",
        "BroadcastTo",
        "Cast",
        "Copy",
        "Pad",
        "MoveAxis",
        "SwapAxes",
    ),
    "elementwise": (
        "Tanh",
        "Sigmoid",
        "Relu",
        "Relu6",
        "Gelu",
        "Silu",
        "Swish",
        "Softplus",
        "Elu",
        "Selu",
        "LeakyRelu",
        "HardSigmoid",
        "HardSilu",
        "Celu",
    ),
}
_KIND_BY_NAME = {name: kind for kind, names in _OPERATION_KINDS.items() for name in names}


def operation_kind(op) -> str | None:
    """For a ``keras.ops`` call inside a functional model: "linear" (add, subtract), "multiply",
    "shape" (reshape, transpose, slicing, ...) or "elementwise" (tanh, GELU, ...); else None."""
    name = keras_internals.keras_operation_name(op)
    return None if name is None else _KIND_BY_NAME.get(name)
