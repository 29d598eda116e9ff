"""Bad input to the analyzers and tools ends in a clear, typed error (issue 15), never in a
silently wrong explanation. Each test failed on the code before the fix (zeros, an unchanged
image, or a TensorFlow/attribute error from deep inside)."""

import keras
import numpy as np
import pytest

import innvestigate
from innvestigate import NeuronSelectionError
from innvestigate.analyzer import ANALYZERS
from innvestigate.tools.bounding_box import bounding_box_mask
from innvestigate.tools.perturbation import Perturbation, PerturbationAnalysis

N_OUTPUTS = 3
FAST = {
    "integrated_gradients": {"steps": 2},
    "smoothgrad": {"augment_by_n": 2, "noise_scale": 0.1, "random_state": 0},
    "occlusion": {"patch_size": 2},
    "lime": {"n_samples": 8, "random_state": 0},
    "lrp": {"rule": "Epsilon"},
    "deep_taylor.bounded": {"low": -3.0, "high": 3.0},
}


def image_model(seed=0):
    """(4, 4, 2) images -> ReLU dense -> 3 logits."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [
            keras.Input((4, 4, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(N_OUTPUTS),
        ]
    )
    for layer in model.layers[1:]:
        w, b = layer.get_weights()
        layer.set_weights(
            [rng.normal(size=w.shape).astype(w.dtype), rng.normal(size=b.shape).astype(b.dtype)]
        )
    return model


def linear_model():
    """4 features -> 3 outputs without bias: the gradient of output k is column k of the kernel."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(N_OUTPUTS, use_bias=False)])
    model.layers[0].set_weights([np.arange(12.0).reshape(4, 3).astype("float32")])
    return model


def images(n=2, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 4, 4, 2)).astype("float32")


# -- item 1: neuron_selection out of range ----------------------------------------------------
@pytest.mark.backend
@pytest.mark.parametrize(
    "name", ["gradient", "lrp.epsilon", "integrated_gradients", "smoothgrad", "occlusion", "lime"]
)
@pytest.mark.parametrize("selection", [3, -1, [0, 5], [-2, 1], np.int64(7)])
def test_neuron_selection_out_of_range_is_refused(name, selection):
    analyzer = innvestigate.create_analyzer(
        name, image_model(), neuron_selection_mode="index", **FAST.get(name, {})
    )
    with pytest.raises(NeuronSelectionError, match=r"valid indices are \[0, 3\)") as info:
        analyzer.analyze(images(), neuron_selection=selection)
    assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    bad_sample = 1 if np.ndim(selection) and np.asarray(selection)[0] in (0,) else 0
    assert f"(sample {bad_sample})" in str(info.value)


@pytest.mark.backend
def test_valid_neuron_selection_still_explains_that_output():
    model = linear_model()
    x = np.ones((2, 4), "float32")
    analyzer = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    kernel = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(
        analyzer.analyze(x, neuron_selection=2), np.stack([kernel[:, 2]] * 2)
    )
    np.testing.assert_allclose(analyzer.analyze(x, neuron_selection=[0, 2]), kernel[:, [0, 2]].T)
    with pytest.raises(NeuronSelectionError, match=r"neuron_selection=3 \(sample 1\)"):
        analyzer.analyze(x, neuron_selection=[2, 3])


def test_neuron_selection_through_analyze_in_batches_is_checked():
    analyzer = innvestigate.create_analyzer(
        "gradient", linear_model(), neuron_selection_mode="index"
    )
    data = (np.ones((2, 4), "float32") for _ in range(2))
    with pytest.raises(NeuronSelectionError):
        analyzer.analyze(data, neuron_selection=3)


# -- item 2: non-finite inputs -----------------------------------------------------------------
def _every_analyzer():
    return sorted(ANALYZERS)


@pytest.mark.parametrize("name", _every_analyzer())
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused_by_every_analyzer(name, bad):
    analyzer = innvestigate.create_analyzer(name, image_model(), **FAST.get(name, {}))
    x = images(3)
    x[2, 1, 3, 0] = bad
    with pytest.raises(
        ValueError, match=r"Model input 0 .* NaN or infinite values, first in sample 2 \(1 of 3"
    ):
        analyzer.analyze(x)


def test_pattern_fit_refuses_non_finite_data():
    analyzer = innvestigate.create_analyzer("pattern.net", image_model())
    x = images(4)
    x[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="first in sample 3"):
        analyzer.fit(x)


def test_finite_input_beyond_the_model_float_range_is_refused():
    analyzer = innvestigate.create_analyzer("gradient", linear_model())
    x = np.ones((2, 4))  # float64 into a float32 model
    x[1, 0] = 1e300
    with pytest.raises(ValueError, match=r"beyond the float32 range .* first in sample 1"):
        analyzer.analyze(x)


@pytest.mark.backend
def test_finite_input_gives_the_gradient_oracle():
    model = linear_model()
    x = np.array([[1.0, -2.0, 0.5, 3.0]], "float32")
    out = innvestigate.create_analyzer("gradient", model).analyze(x)
    kernel = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(out, kernel[:, [int(np.argmax(x @ kernel))]].T)


# -- item 3: region and target indices in innvestigate.tools ----------------------------------
def test_perturb_region_out_of_range_is_refused():
    p = Perturbation("zero", region_shape=(2, 2))
    x = np.ones((1, 8, 8, 1))  # 16 regions
    with pytest.raises(IndexError, match=r"has 16 regions, valid indices are \[0, 16\)"):
        p.perturb(x, [[999]])
    with pytest.raises(IndexError, match=r"Region index -1"):
        p.perturb(x, [[-1]])
    with pytest.raises(TypeError, match="integer region indices"):
        p.perturb(x, [[1.5]])
    with pytest.raises(ValueError, match="same number of region indices per sample"):
        p.perturb(np.ones((2, 8, 8, 1)), [1, 2, 3])
    # the valid edge region 15 is the bottom-right 2x2 block
    out = p.perturb(x, [[15]])
    assert out.sum() == 64 - 4 and (out[0, 6:, 6:, 0] == 0).all()


def test_perturbation_analysis_refuses_out_of_range_targets():
    w = np.arange(32.0).reshape(16 * 2, 1) * np.ones((1, 3))

    def model(x):
        return np.asarray(x).reshape(len(x), -1) @ w

    pa = PerturbationAnalysis(
        lambda x, **kw: x, model, Perturbation("zero", (2, 2)), steps=2, progress=False
    )
    x = np.ones((2, 4, 4, 2))
    for selection in (3, -1, [0, 4]):
        with pytest.raises(IndexError, match=r"model_fn has 3 outputs, valid indices are \[0, 3\)"):
            pa.compute(x, neuron_selection=selection)


def test_bounding_box_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="lies outside"):
        bounding_box_mask((4, 4), [(-5, 0, -1, 4)])  # numpy would read bottom=-1 as row 3
    with pytest.raises(ValueError, match="lies outside"):
        bounding_box_mask((4, 4), [(4, 0, 6, 2)])
    # partly outside is clipped, as documented
    assert bounding_box_mask((4, 4), [(-2, -2, 1, 1)]).sum() == 1


# -- item 4: empty batches, nested lists, unbuilt and subclassed models -----------------------
def test_empty_batch_is_refused():
    analyzer = innvestigate.create_analyzer("gradient", linear_model())
    with pytest.raises(ValueError, match="X has 0 samples"):
        analyzer.analyze(np.zeros((0, 4), "float32"))


@pytest.mark.backend
def test_rectangular_nested_list_is_read_as_an_array():
    analyzer = innvestigate.create_analyzer("lrp.epsilon", image_model())
    x = images(2)
    np.testing.assert_allclose(analyzer.analyze(x.tolist()), analyzer.analyze(x), rtol=1e-6)


def test_ragged_or_non_numeric_nested_lists_are_refused():
    analyzer = innvestigate.create_analyzer("gradient", linear_model())
    with pytest.raises(ValueError, match="not rectangular"):
        analyzer.analyze([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="non-numbers"):
        analyzer.analyze([[1.0, 2.0, 3.0, "4"]])
    with pytest.raises(TypeError, match="floating point"):
        analyzer.analyze([[1, 2, 3, 4]])  # Python ints are not silently made floats


def test_nested_lists_for_a_multi_input_model_are_refused():
    a, b = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([a, b], keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])))
    x = np.ones((2, 2), "float32")
    with pytest.raises(TypeError, match="one numpy array per input"):
        innvestigate.create_analyzer("gradient", model).analyze([x.tolist(), x.tolist()])


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


@pytest.mark.parametrize(
    "name", ["gradient", "lrp.z", "integrated_gradients", "occlusion", "input", "pattern.net"]
)
def test_unbuilt_sequential_and_subclassed_models_are_refused_at_creation(name):
    with pytest.raises(ValueError, match="is not built; give it an Input"):
        innvestigate.create_analyzer(
            name, keras.Sequential([keras.layers.Dense(3)]), **FAST.get(name, {})
        )
    model = _Subclassed()
    model(np.ones((1, 4), "float32"))
    with pytest.raises(TypeError, match=r"subclassed keras\.Model; .* functional API"):
        innvestigate.create_analyzer(name, model, **FAST.get(name, {}))
