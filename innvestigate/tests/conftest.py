import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if os.environ.get("KERAS_BACKEND") == "jax":
    # float64 oracles need 64-bit JAX arrays.
    import jax

    jax.config.update("jax_enable_x64", True)

if os.environ.get("KERAS_BACKEND") == "torch":
    # float64 oracles need float64 arithmetic, and Keras 3.15 on torch computes matmul,
    # maximum and minimum of float64 tensors in float32: its type promotion maps float64
    # to float32 on every backend but TensorFlow (keras-team/keras#23704). The tests lift
    # that mapping, as jax_enable_x64 does for JAX; float32 arithmetic is unaffected.
    from keras.src.backend.common import dtypes as _keras_dtypes

    _keras_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

import keras
import numpy as np
import pytest


@pytest.fixture
def float64():
    """Runs a test with Keras' float type and dtype policy set to float64 (both restored afterwards).

    ``set_floatx`` alone is not enough: Keras derives the global dtype policy from floatx the
    first time any layer is created and keeps it from then on, so once some earlier test has
    built a layer under float32, new layers stay float32 whatever floatx says (and a model
    built here first would make every later test's layers float64).
    """
    old_floatx, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(old_floatx)
    keras.config.set_dtype_policy(old_policy)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def randomize_biases(model, rng, scale=0.5):
    """Gives every bias (and BatchNorm statistic) non-zero random values."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            randomize_biases(layer, rng, scale)
            continue
        for v in layer.weights:
            if v.name == "bias" or v.name in ("beta", "moving_mean"):
                v.assign(rng.normal(0, scale, size=v.shape).astype(v.dtype))
            elif v.name in ("gamma",):
                v.assign(rng.uniform(0.5, 1.5, size=v.shape).astype(v.dtype))
            elif v.name == "moving_variance":
                v.assign(rng.uniform(0.5, 2.0, size=v.shape).astype(v.dtype))
