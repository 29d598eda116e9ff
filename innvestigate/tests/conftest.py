import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if os.environ.get("KERAS_BACKEND") == "jax":
    # float64 oracles need 64-bit JAX arrays.
    import jax

    jax.config.update("jax_enable_x64", True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def float64():
    """Runs a test with Keras' float type set to float64 (restored afterwards)."""
    old = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(old)


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
