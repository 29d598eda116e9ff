"""The reverse-propagation engine and the analyzer API on graphs with branches, merges,
shared layers, nested models, several inputs and several outputs."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases
from innvestigate import backend
from innvestigate.engine.canonizers import FuseBatchNormalization, SplitActivation
from innvestigate.engine.graph import build_graph
from innvestigate.exceptions import NotAnalyzeableModelException, SoftmaxOutputError

pytestmark = pytest.mark.backend


def autodiff_gradient(model, x, index):
    """The backend's own gradient of output ``index`` of the whole model."""
    bk = backend.get()
    xs = [keras.ops.convert_to_tensor(a) for a in (x if isinstance(x, list) else [x])]

    def f(*a):
        y = model(list(a) if len(a) > 1 else a[0])
        return [y]

    ys, vjp = bk.forward_with_vjp(f, xs)
    y = np.asarray(bk.to_numpy(ys[0]))
    mask = np.zeros_like(y)
    mask[np.arange(len(y)), index] = 1
    g = vjp([keras.ops.convert_to_tensor(mask)])
    return [np.asarray(bk.to_numpy(t)) for t in g]


def dag_model(rng):
    """Branches, a merge of each kind, a shared layer and a nested model."""
    inp = keras.Input((6,))
    # (softplus: Keras-on-JAX evaluates tanh to only ~1e-7 in float64, too coarse for finite differences)
    shared = keras.layers.Dense(5, activation="softplus", name="shared")
    a = shared(inp)
    b = keras.layers.Dense(5, activation="relu")(inp)
    inner_in = keras.Input((5,))
    inner = keras.Model(
        inner_in, keras.layers.Dense(5, activation="softplus")(inner_in), name="inner"
    )
    c = inner(b)
    s = keras.layers.Add()([a, c])
    d = keras.layers.Subtract()([s, b])
    m = keras.layers.Multiply()([d, a])
    av = keras.layers.Average()([m, c])
    cat = keras.layers.Concatenate()([av, shared(keras.layers.Dense(6)(av))])
    out = keras.layers.Dense(3)(cat)
    model = keras.Model(inp, out)
    randomize_biases(model, rng)
    return model


def test_gradient_equals_autodiff_and_finite_differences(float64, rng):
    model = dag_model(rng)
    x = rng.normal(size=(4, 6))
    analyzer = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    got = analyzer.analyze(x, neuron_selection=np.array([0, 1, 2, 1]))
    expected = autodiff_gradient(model, x, np.array([0, 1, 2, 1]))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # Central finite differences.
    h = 1e-6
    fd = np.zeros_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        # The compiled forward pass (eager JAX evaluates some ops in lower precision).
        yp = keras.ops.convert_to_numpy(analyzer._model_output([x + e]))
        ym = keras.ops.convert_to_numpy(analyzer._model_output([x - e]))
        fd[:, j] = (yp - ym)[np.arange(4), [0, 1, 2, 1]] / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-7)
    # The engine-free baseline agrees.
    base = innvestigate.create_analyzer("gradient.baseline", model, neuron_selection_mode="index")
    np.testing.assert_allclose(
        base.analyze(x, neuron_selection=np.array([0, 1, 2, 1])), got, rtol=1e-6, atol=1e-7
    )


def test_gradient_postprocess_and_selection_modes(float64, rng):
    model = dag_model(rng)
    x = rng.normal(size=(3, 6))
    y = keras.ops.convert_to_numpy(model(x))
    g_max = innvestigate.create_analyzer("gradient", model).analyze(x)
    np.testing.assert_allclose(
        g_max, autodiff_gradient(model, x, y.argmax(1))[0], rtol=1e-6, atol=1e-7
    )
    g_all = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="all").analyze(x)
    total = sum(autodiff_gradient(model, x, np.full(3, k))[0] for k in range(3))
    np.testing.assert_allclose(g_all, total, rtol=1e-6, atol=1e-7)
    # XLA's CPU tanh differs from the eager one by ~1e-8: compare to the backend at 1e-6.
    g_abs = innvestigate.create_analyzer("gradient", model, postprocess="abs").analyze(x)
    np.testing.assert_allclose(g_abs, np.abs(g_max))
    g_sq = innvestigate.create_analyzer("gradient", model, postprocess="square").analyze(x)
    np.testing.assert_allclose(g_sq, g_max**2)
    ixg = innvestigate.create_analyzer("input_t_gradient", model).analyze(x)
    np.testing.assert_allclose(ixg, x * g_max)


def test_several_inputs_and_chosen_output(float64, rng):
    in1, in2 = keras.Input((3,)), keras.Input((4,))
    h = keras.layers.Concatenate()([keras.layers.Dense(4, activation="relu")(in1), in2])
    out1 = keras.layers.Dense(2, name="first")(h)
    out2 = keras.layers.Dense(3, name="second")(keras.layers.Dense(5, activation="tanh")(h))
    model = keras.Model([in1, in2], [out1, out2])
    randomize_biases(model, rng)
    x = [rng.normal(size=(2, 3)), rng.normal(size=(2, 4))]
    with pytest.raises(ValueError, match="output_index"):
        innvestigate.create_analyzer("gradient", model)
    a = innvestigate.create_analyzer(
        "gradient", model, output_index=1, neuron_selection_mode="index"
    )
    got = a.analyze(x, neuron_selection=2)
    sub = keras.Model([in1, in2], out2)
    expected = autodiff_gradient(sub, x, np.array([2, 2]))
    assert isinstance(got, list) and len(got) == 2
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-7)


def test_sequential_inside_functional(float64, rng):
    seq = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(3, activation="tanh"),
        ]
    )
    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(seq(inp))
    model = keras.Model(inp, out)
    randomize_biases(model, rng)
    x = rng.normal(size=(3, 4))
    a = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    np.testing.assert_allclose(
        a.analyze(x, neuron_selection=1),
        autodiff_gradient(model, x, np.ones(3, int))[0],
        rtol=1e-6,
        atol=1e-7,
    )


def test_branch_relevance_is_summed_and_conserved(float64, rng):
    # Bias-free ReLU net with a residual branch: LRP-Z conserves relevance exactly.
    inp = keras.Input((6,))
    h = keras.layers.Dense(6, activation="relu", use_bias=False)(inp)
    r = keras.layers.Dense(6, activation="relu", use_bias=False)(h)
    s = keras.layers.Add()([h, r])
    out = keras.layers.Dense(3, use_bias=False)(s)
    model = keras.Model(inp, out)
    x = np.abs(rng.normal(size=(5, 6)))
    y = keras.ops.convert_to_numpy(model(x))
    rel = innvestigate.create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(rel.sum(1), y.max(1), rtol=1e-8)


def test_custom_mapping_api_reproduces_guided_backprop(float64, rng):
    from keras import ops

    from innvestigate.analyzer.base import ReverseAnalyzerBase
    from innvestigate.engine import checks

    class MyGuidedBackprop(ReverseAnalyzerBase):
        def _conditional_mappings(self):
            def mapping(inputs, outputs, reversed_outputs, state):
                return state.gradient([ops.relu(r) for r in reversed_outputs])

            return [(lambda layer: checks.is_relu(layer), mapping)]

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.Dense(5, activation="relu"),
            keras.layers.Dense(2),
        ]
    )
    randomize_biases(model, rng)
    x = rng.normal(size=(3, 4))
    mine = MyGuidedBackprop(model).analyze(x)
    theirs = innvestigate.create_analyzer("guided_backprop", model).analyze(x)
    np.testing.assert_allclose(mine, theirs)


def test_softmax_output_raises_and_model_wo_softmax_fixes(rng):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(SoftmaxOutputError, match="model_wo_softmax"):
        innvestigate.create_analyzer("lrp.epsilon", model)
    logits = innvestigate.model_wo_softmax(model)
    x = rng.normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(keras.ops.softmax(logits(x))),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-5,
    )
    innvestigate.create_analyzer("lrp.epsilon", logits).analyze(x)
    model2 = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Softmax()])
    with pytest.raises(SoftmaxOutputError):
        innvestigate.create_analyzer("gradient", model2)
    assert len(innvestigate.model_wo_softmax(model2).layers) == 2


class Cube(keras.layers.Layer):
    def call(self, x):
        return x**3


def test_not_analyzeable_names_offending_layers():
    inp = keras.Input((3,))
    out = keras.layers.Dense(2)(Cube(name="my_cube")(keras.layers.Dense(3)(inp)))
    model = keras.Model(inp, out)
    with pytest.raises(NotAnalyzeableModelException, match="my_cube") as info:
        innvestigate.create_analyzer("lrp.epsilon", model)
    assert info.value.layers == ["my_cube"]
    # The gradient handles any differentiable layer.
    innvestigate.create_analyzer("gradient", model).analyze(np.ones((1, 3), "float32"))
    tanh_model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(3, activation="tanh", name="t"),
            keras.layers.Dense(2),
        ]
    )
    with pytest.raises(NotAnalyzeableModelException, match="tanh"):
        innvestigate.create_analyzer("deep_taylor", tanh_model)


def test_custom_layer_gets_a_rule(float64, rng):
    """A custom layer given the identity rule passes its relevance through unchanged: LRP-ε by
    hand (Eq. II.33) through Dense, the identity at the Cube, Dense again, in float64."""
    from innvestigate.analyzer.lrp import rules

    inp = keras.Input((3,))
    out = keras.layers.Dense(2)(Cube(name="my_cube")(keras.layers.Dense(4)(inp)))
    model = keras.Model(inp, out)
    randomize_biases(model, rng)
    eps = 0.01
    a = innvestigate.create_analyzer(
        "lrp.epsilon", model, epsilon=eps, rules=[(Cube, rules.PassRule())]
    )
    x = rng.normal(size=(3, 3))
    (w1, b1), (w2, b2) = model.layers[1].get_weights(), model.layers[3].get_weights()

    def epsilon_rule(a_in, w, z, r_out):
        return a_in * ((r_out / (z + eps * np.where(z >= 0, 1.0, -1.0))) @ w.T)

    h = x @ w1 + b1
    c = h**3
    y = c @ w2 + b2
    r_y = np.where(np.arange(2) == y.argmax(1)[:, None], y, 0.0)  # the largest output's value
    r_c = epsilon_rule(c, w2, y, r_y)
    r_h = r_c  # PassRule: the Cube's output relevance is its input relevance
    expected = epsilon_rule(x, w1, h, r_h)
    np.testing.assert_allclose(a.analyze(x), expected, rtol=1e-9, atol=1e-12)


def test_unknown_analyzer_lists_names():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(KeyError, match=r"lrp\.epsilon"):
        innvestigate.create_analyzer("no_such_method", model)


def test_bad_inputs_are_rejected():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    a = innvestigate.create_analyzer("gradient", model)
    with pytest.raises(ValueError, match="does not fit"):
        a.analyze(np.ones((2, 4), "float32"))
    with pytest.raises(TypeError, match="floating"):
        a.analyze(np.ones((2, 3), "int64"))
    with pytest.raises(ValueError, match="neuron_selection_mode='index'"):
        a.analyze(np.ones((2, 3), "float32"), neuron_selection=1)
    b = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index")
    with pytest.raises(ValueError, match="needs neuron_selection"):
        b.analyze(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="neuron_selection_mode"):
        innvestigate.create_analyzer("gradient", model, neuron_selection_mode="best")


def test_canonizers_leave_model_unchanged(float64, rng):
    inp = keras.Input((5, 5, 2))
    h = keras.layers.Conv2D(3, 3, activation=None)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    out = keras.layers.Dense(2, activation="relu")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    randomize_biases(model, rng)
    x = rng.normal(size=(2, 5, 5, 2))
    before = [np.array(w) for w in model.get_weights()]
    y_before = keras.ops.convert_to_numpy(model(x))
    a = innvestigate.create_analyzer("lrp.epsilon", model)
    a.analyze(x)
    assert model.layers[-1].activation.__name__ == "relu"
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    np.testing.assert_array_equal(y_before, keras.ops.convert_to_numpy(model(x)))
    # Fusing BatchNorm does not change the function: the fused gradient equals the original.
    g = innvestigate.create_analyzer("gradient", model, neuron_selection_mode="index").analyze(
        x, neuron_selection=0
    )
    from innvestigate.analyzer.base import ReverseAnalyzerBase

    class FusedGradient(ReverseAnalyzerBase):
        pass

    fused = FusedGradient(model, neuron_selection_mode="index", fuse_batch_normalization=True)
    canonical = FuseBatchNormalization().apply(SplitActivation().apply(build_graph(model)))
    assert not any(isinstance(n.layer, keras.layers.BatchNormalization) for n in canonical.nodes)
    # XLA on CPU evaluates BatchNorm's rsqrt to ~1e-8 in float64, hence the tolerance.
    np.testing.assert_allclose(fused.analyze(x, neuron_selection=0), g, rtol=1e-6, atol=1e-7)


def test_analyze_over_generator_uses_batching(float64, rng):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    randomize_biases(model, rng)
    x = rng.normal(size=(10, 4))
    a = innvestigate.create_analyzer("lrp.epsilon", model)
    whole = a.analyze(x)
    gen = (x[i : i + 3] for i in range(0, 10, 3))
    np.testing.assert_allclose(a.analyze(gen), whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["gradient", "lrp.sequential_preset_a_flat", "deep_taylor"])
def test_batch_equals_samples_one_by_one(float64, rng, name):
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    randomize_biases(model, rng)
    x = rng.normal(size=(4, 6, 6, 1))
    a = innvestigate.create_analyzer(name, model)
    whole = a.analyze(x)
    single = np.concatenate([a.analyze(x[i : i + 1]) for i in range(4)])
    np.testing.assert_allclose(whole, single, rtol=1e-9, atol=1e-12)
