"""Every analyzer on Keras application architectures with random weights.

Default run: all analyzers on VGG16 (convolutional part nested under a small head) and a representative subset on MobileNetV2 (relu6,
depthwise convolutions, unfusable BatchNorm). ``-m slow``: the whole zoo (VGG16,
ResNet50, DenseNet121, InceptionV3, MobileNetV2, EfficientNetB0, NASNetMobile) × all
analyzers. Checks: runs (or refuses with NotAnalyzeableModelException where the method's
theory excludes the architecture), finite, batch-consistent; the stochastic analyzers
against their definition with the same random draws (random noise, SmoothGrad as the mean
gradient at the noisy inputs, LIME constant on its segments); on VGG16, the gradient against
finite differences and LRP-z against input × gradient with the biases set to zero.
"""

import keras
import numpy as np
import pytest

import innvestigate
from innvestigate.exceptions import NotAnalyzeableModelException

A = keras.applications


def vgg16_small_head():
    # VGG16's convolutional part as a nested model under a small Dense head (the 4096-wide
    # classifier would dominate the default test run without adding any layer type).
    base = A.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    inp = keras.Input((32, 32, 3))
    h = keras.layers.Dense(16, activation="relu")(keras.layers.Flatten()(base(inp)))
    return keras.Model(inp, keras.layers.Dense(5)(h))


ZOO = {
    "vgg16": vgg16_small_head,
    "vgg16_full": lambda: A.VGG16(
        weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None
    ),
    "resnet50": lambda: A.ResNet50(
        weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None
    ),
    "densenet121": lambda: A.DenseNet121(
        weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None
    ),
    "inceptionv3": lambda: A.InceptionV3(
        weights=None, input_shape=(75, 75, 3), classes=5, classifier_activation=None
    ),
    "mobilenetv2": lambda: A.MobileNetV2(
        weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=5, classifier_activation=None
    ),
    "efficientnetb0": lambda: A.EfficientNetB0(
        weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None
    ),
    "nasnetmobile": lambda: innvestigate.model_wo_softmax(
        A.NASNetMobile(weights=None, input_shape=(32, 32, 3), classes=5)
    ),
}

PARAMS = {
    "lrp": {"rule": "Epsilon"},
    "integrated_gradients": {"steps": 2},
    "smoothgrad": {"augment_by_n": 2, "noise_scale": 0.1, "random_state": 0},
    "occlusion": {"patch_size": 16},
    "lime": {"n_samples": 8, "random_state": 0, "segmentation_params": {"n_segments": 4}},
    "deep_taylor.bounded": {"low": 0.0, "high": 1.0},
    "lrp.bounded": {"low": 0.0, "high": 1.0},
    "random": {"random_state": 0},
}
# Methods whose theory needs ReLU networks of Dense/Conv layers (Deep Taylor; patterns).
RELU_ONLY = {"deep_taylor", "deep_taylor.bounded", "pattern.net", "pattern.attribution"}
STOCHASTIC = {"random", "smoothgrad", "lime"}
# PatternNet's exact signal estimate on these random-weight models is far outside the
# float32 range (the same weights and patterns in float64 give max |output| 3.0e69 on
# InceptionV3 and 9.3e84 on ResNet50: patterns fit to a random network grow the signal by
# ~10² per layer), so the analysis must refuse with SignalOverflowError, not return inf/nan.
OVERFLOWS = {("pattern.net", "inceptionv3"), ("pattern.net", "resnet50")}

_models: dict = {}


def zoo_model(name):
    if name not in _models:
        keras.utils.set_random_seed(0)
        _models[name] = ZOO[name]()
    return _models[name]


def check(model_name, analyzer_name):
    model = zoo_model(model_name)
    shape = tuple(model.inputs[0].shape[1:])
    x = np.random.default_rng(1).random((2,) + shape).astype("float32")
    try:
        analyzer = innvestigate.create_analyzer(
            analyzer_name, model, **PARAMS.get(analyzer_name, {})
        )
    except NotAnalyzeableModelException as err:
        assert analyzer_name in RELU_ONLY, f"{analyzer_name} refused {model_name}: {err}"
        assert err.layers
        return
    if analyzer_name.startswith("pattern"):
        analyzer.fit(np.random.default_rng(2).random((4,) + shape).astype("float32"), batch_size=2)
    if (analyzer_name, model_name) in OVERFLOWS:
        with pytest.raises(
            innvestigate.SignalOverflowError, match="exceeds the float32 range at layer"
        ) as err:
            analyzer.analyze(x)
        assert err.value.gain > 10
        return
    out = analyzer.analyze(x)
    assert out.shape == x.shape
    assert np.all(np.isfinite(out))
    if analyzer_name in STOCHASTIC:
        check_stochastic(model, analyzer_name, x, out)
        return
    # A batch equals its samples analysed alone (here: each sample in a batch of copies,
    # which keeps the compiled input signature).
    for i in range(2):
        alone = analyzer.analyze(np.stack([x[i], x[i]]))
        scale = np.abs(out[i]).max() + 1e-30
        np.testing.assert_allclose(alone[0], out[i], rtol=1e-4, atol=1e-5 * scale)
    # Different samples get different explanations (no sample leaks into the other).
    assert not np.allclose(out[0], out[1], rtol=1e-3, atol=0) or np.abs(out).max() == 0


def check_stochastic(model, analyzer_name, x, out):
    """The output against the method's definition, with the draws of the same random_state."""
    params = PARAMS[analyzer_name]
    rng = np.random.default_rng(params["random_state"])
    if analyzer_name == "random":
        np.testing.assert_array_equal(out, rng.normal(0.0, 1.0, size=x.shape).astype(x.dtype))
    elif analyzer_name == "smoothgrad":
        # The mean gradient at the noisy copies, for the neuron chosen at the clean input.
        m = params["augment_by_n"]
        noisy = x[None] + rng.normal(0.0, params["noise_scale"], size=(m,) + x.shape).astype(
            x.dtype
        )
        gradient = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
        chosen = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=1)
        expected = np.mean(
            [gradient.analyze(copy, neuron_selection=chosen) for copy in noisy], axis=0
        )
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    elif analyzer_name == "lime":
        # One ridge coefficient per superpixel: constant on each segment, and not all zero.
        analyzer = innvestigate.create_analyzer(analyzer_name, model, **params)
        for i in range(len(x)):
            labels = analyzer.segments(x[i])
            for segment in np.unique(labels):
                values = out[i][labels == segment]  # (pixels, channels)
                np.testing.assert_array_equal(values, np.broadcast_to(values[0], values.shape))
        assert np.abs(out).max() > 0
        # The same random_state gives the same explanation.
        np.testing.assert_array_equal(analyzer.analyze(x), out)


def test_vgg16_gradient_and_lrp_z_identities():
    """On VGG16's convolutional part (ReLU, max pooling): the gradient against central finite
    differences in float64, and LRP-z = input × gradient once every bias is zero (an identity
    of bias-free ReLU networks, max pooling included)."""
    old_floatx, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(0)
        base = A.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        inp = keras.Input((32, 32, 3))
        model = keras.Model(inp, keras.layers.Dense(3)(base(inp)))
        rng = np.random.default_rng(3)
        x = rng.random((1, 32, 32, 3))
        gradient = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
        g = gradient.analyze(x, neuron_selection=np.array([1]))
        # Finite differences along a few random directions: <g, v> = (f(x + hv) - f(x - hv)) / 2h.
        h = 1e-7  # small: a larger step crosses ReLU kinks somewhere in 13 layers
        for _ in range(3):
            v = rng.normal(size=x.shape)
            v /= np.linalg.norm(v)
            f = [keras.ops.convert_to_numpy(model(x + s * h * v))[0, 1] for s in (1, -1)]
            np.testing.assert_allclose(np.sum(g * v), (f[0] - f[1]) / (2 * h), rtol=1e-5)

        for layer in model.layers[1].layers + model.layers[2:]:
            if getattr(layer, "bias", None) is not None:
                layer.bias.assign(np.zeros(layer.bias.shape))
        lrp_z = innvestigate.create_analyzer("lrp.z", model, neuron_selection_mode="index")
        gradient = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
        selection = np.array([2])
        expected = x * gradient.analyze(x, neuron_selection=selection)
        relevance = lrp_z.analyze(x, neuron_selection=selection)
        np.testing.assert_allclose(
            relevance, expected, rtol=1e-7, atol=1e-12 * np.abs(expected).max()
        )
        # Conservation: the input relevance sums to the explained output.
        y = keras.ops.convert_to_numpy(model(x))[0, 2]
        np.testing.assert_allclose(relevance.sum(), y, rtol=1e-7)
    finally:
        keras.config.set_floatx(old_floatx)
        keras.config.set_dtype_policy(old_policy)


ALL = sorted(innvestigate.ANALYZERS)
MOBILENET_SUBSET = [
    "gradient",
    "guided_backprop",
    "lrp.epsilon",
    "lrp.sequential_preset_a_flat",
    "lrp.alpha_2_beta_1",
    "deep_taylor",
    "occlusion",
]


@pytest.mark.parametrize("analyzer_name", ALL)
def test_vgg16(analyzer_name):
    check("vgg16", analyzer_name)


@pytest.mark.parametrize("analyzer_name", MOBILENET_SUBSET)
def test_mobilenetv2(analyzer_name):
    check("mobilenetv2", analyzer_name)


@pytest.mark.slow
@pytest.mark.parametrize("model_name", sorted(ZOO))
@pytest.mark.parametrize("analyzer_name", ALL)
def test_full_zoo(model_name, analyzer_name):
    check(model_name, analyzer_name)
