"""Every analyzer on Keras application architectures with random weights.

Default run: all analyzers on VGG16 (convolutional part nested under a small head) and a representative subset on MobileNetV2 (relu6,
depthwise convolutions, unfusable BatchNorm). ``-m slow``: the whole zoo (VGG16,
ResNet50, DenseNet121, InceptionV3, MobileNetV2, EfficientNetB0, NASNetMobile) × all
analyzers. Checks: runs (or refuses with NotAnalyzeableModelException where the method's
theory excludes the architecture), finite, batch-consistent.
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
    "vgg16_full": lambda: A.VGG16(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None),
    "resnet50": lambda: A.ResNet50(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None),
    "densenet121": lambda: A.DenseNet121(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None),
    "inceptionv3": lambda: A.InceptionV3(weights=None, input_shape=(75, 75, 3), classes=5, classifier_activation=None),
    "mobilenetv2": lambda: A.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=5, classifier_activation=None),
    "efficientnetb0": lambda: A.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=5, classifier_activation=None),
    "nasnetmobile": lambda: innvestigate.model_wo_softmax(A.NASNetMobile(weights=None, input_shape=(32, 32, 3), classes=5)),
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
        analyzer = innvestigate.create_analyzer(analyzer_name, model, **PARAMS.get(analyzer_name, {}))
    except NotAnalyzeableModelException as err:
        assert analyzer_name in RELU_ONLY, f"{analyzer_name} refused {model_name}: {err}"
        assert err.layers
        return
    if analyzer_name.startswith("pattern"):
        analyzer.fit(np.random.default_rng(2).random((4,) + shape).astype("float32"), batch_size=2)
    if (analyzer_name, model_name) in OVERFLOWS:
        with pytest.raises(innvestigate.SignalOverflowError, match="exceeds the float32 range at layer") as err:
            analyzer.analyze(x)
        assert err.value.gain > 10
        return
    out = analyzer.analyze(x)
    assert out.shape == x.shape
    assert np.all(np.isfinite(out))
    if analyzer_name in STOCHASTIC:
        return
    # A batch equals its samples analysed alone (here: each sample in a batch of copies,
    # which keeps the compiled input signature).
    for i in range(2):
        alone = analyzer.analyze(np.stack([x[i], x[i]]))
        scale = np.abs(out[i]).max() + 1e-30
        np.testing.assert_allclose(alone[0], out[i], rtol=1e-4, atol=1e-5 * scale)
    # Different samples get different explanations (no sample leaks into the other).
    assert not np.allclose(out[0], out[1], rtol=1e-3, atol=0) or np.abs(out).max() == 0


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
