"""Model specifications and analyzer settings shared by both sides of the cross-check.

Imported by ``crosscheck.py`` (our innvestigate on Keras 3) and by ``run_212.py``
(iNNvestigate 2.1.2 on tf.keras 2.14), so it must run on both stacks: plain Python
and numpy only, the Keras module is passed in.
"""

import numpy as np

# Each spec is a list of layers; both sides build a Sequential model from it and
# load the same weights in the order of ``model.get_weights()``.
MODELS = {
    "mlp": {
        "input_shape": (20,),
        "layers": [
            {"type": "dense", "units": 32, "activation": "relu"},
            {"type": "dense", "units": 16, "activation": "relu"},
            {"type": "dense", "units": 5, "activation": "linear"},
        ],
    },
    "cnn": {
        "input_shape": (16, 16, 3),
        "layers": [
            {
                "type": "conv2d",
                "filters": 8,
                "kernel_size": 3,
                "activation": "relu",
                "padding": "same",
            },
            {"type": "maxpool2d", "pool_size": 2},
            {
                "type": "conv2d",
                "filters": 16,
                "kernel_size": 3,
                "activation": "relu",
                "padding": "valid",
            },
            {"type": "flatten"},
            {"type": "dense", "units": 32, "activation": "relu"},
            {"type": "dense", "units": 10, "activation": "linear"},
        ],
    },
}
# The CNN again with all biases zero: where a 2.1.2 quirk involves the bias (alpha-beta
# counting it twice), the two implementations must agree on this model.
MODELS["cnn_zero_bias"] = dict(MODELS["cnn"], zero_bias=True)

# name -> parameters, identical on both sides unless a quirk says otherwise (see README).
INPUT_LOW, INPUT_HIGH = -1.0, 1.0
ANALYZERS = {
    "input": {},
    "gradient": {},
    "gradient.baseline": {},
    "input_t_gradient": {},
    "deconvnet": {},
    "guided_backprop": {},
    "integrated_gradients": {"steps": 32, "reference_inputs": 0.0},
    "smoothgrad": {"augment_by_n": 256, "noise_scale": 1.0},
    "lrp.z": {},
    "lrp.epsilon": {"epsilon": 0.1},
    "lrp.w_square": {},
    "lrp.flat": {},
    "lrp.alpha_2_beta_1": {},
    "lrp.alpha_2_beta_1_IB": {},
    "lrp.alpha_1_beta_0": {},
    "lrp.alpha_1_beta_0_IB": {},
    "lrp.z_plus": {},
    "lrp.z_plus_fast": {},
    "lrp.sequential_preset_a": {},
    "lrp.sequential_preset_b": {},
    "lrp.sequential_preset_a_flat": {},
    "lrp.sequential_preset_b_flat": {},
    "deep_taylor": {},
    "deep_taylor.bounded": {"low": INPUT_LOW, "high": INPUT_HIGH},
}


def build(keras, spec):
    """A Sequential model from a spec, with whichever Keras module is given."""
    layers = [keras.Input(shape=spec["input_shape"])]
    for layer in spec["layers"]:
        kind = layer["type"]
        if kind == "dense":
            layers.append(keras.layers.Dense(layer["units"], activation=layer["activation"]))
        elif kind == "conv2d":
            layers.append(
                keras.layers.Conv2D(
                    layer["filters"],
                    layer["kernel_size"],
                    activation=layer["activation"],
                    padding=layer["padding"],
                )
            )
        elif kind == "maxpool2d":
            layers.append(keras.layers.MaxPooling2D(layer["pool_size"]))
        elif kind == "flatten":
            layers.append(keras.layers.Flatten())
        else:
            raise ValueError(f"unknown layer type {kind}")
    return keras.Sequential(layers)


def random_weights(model, seed, zero_bias=False):
    """He-scaled kernels and clearly non-zero biases (the quirks show up only with biases)."""
    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        if w.ndim == 1:
            scale = 0.0 if zero_bias else 0.1
            weights.append((scale * rng.normal(size=w.shape)).astype("float32"))
        else:
            fan_in = int(np.prod(w.shape[:-1]))
            weights.append((rng.normal(size=w.shape) * np.sqrt(2.0 / fan_in)).astype("float32"))
    return weights


def random_inputs(spec, n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(INPUT_LOW, INPUT_HIGH, size=(n,) + tuple(spec["input_shape"])).astype(
        "float32"
    )
