"""Inputs known to be non-negative from the graph, and the α-β shortcut that uses it."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases
from innvestigate.engine import graph as graph_module
from innvestigate.engine.canonizers import SplitActivation
from innvestigate.engine.graph import build_graph


def _flags(model):
    graph = SplitActivation().apply(build_graph(model))
    return {(n.name, n.kind): n.nonnegative_inputs for n in graph.nodes}


def test_nonnegative_inputs_follow_relu_through_pooling_and_merges():
    inp = keras.Input((8, 8, 2))
    a = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="c1")(inp)
    p = keras.layers.MaxPooling2D(name="pool")(a)
    b = keras.layers.Conv2D(3, 1, name="c2")(p)  # linear: its output may be negative
    s = keras.layers.Add(name="add_pos")([p, keras.layers.ReLU(name="r")(b)])
    t = keras.layers.Subtract(name="sub")([p, p])
    u = keras.layers.Concatenate(name="cat")([s, t])
    f = keras.layers.Flatten(name="flat")(u)
    d = keras.layers.Dense(2, name="out")(f)
    d2 = keras.layers.Dense(2, name="after_flat_of_s")(keras.layers.Flatten(name="flat_s")(s))
    model = keras.Model(inp, keras.layers.Add(name="sum")([d, d2]))
    flags = _flags(model)
    assert flags[("c1", "linear")] is False  # reads the model input
    assert flags[("pool", "layer")] is True  # reads relu(c1)
    assert flags[("c2", "layer")] is True
    assert flags[("r", "layer")] is False  # reads the linear c2
    assert flags[("add_pos", "layer")] is True
    assert flags[("cat", "layer")] is False  # a Subtract output may be negative
    assert flags[("out", "layer")] is False
    assert flags[("after_flat_of_s", "layer")] is True


@pytest.mark.backend
@pytest.mark.parametrize(
    "name",
    ["lrp.alpha_2_beta_1", "lrp.alpha_1_beta_0", "lrp.sequential_preset_b_flat", "lrp.z_plus"],
)
def test_alpha_beta_shortcut_equals_general_formula(float64, rng, monkeypatch, name):
    # A ReLU CNN with biases: every layer after the first reads non-negative inputs, so the
    # α-β rules there skip the x⁻ terms. The result must equal the general computation.
    keras.utils.set_random_seed(1)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(5, 3, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(6, activation="relu")(h)
    model = keras.Model(inp, keras.layers.Dense(3)(h))
    randomize_biases(model, rng, scale=0.2)
    x = rng.normal(size=(4, 10, 10, 3))

    fast = innvestigate.create_analyzer(name, model).analyze(x)
    graph = SplitActivation().apply(build_graph(model))
    assert sum(n.nonnegative_inputs for n in graph.nodes if n.has_kernel) == 3

    monkeypatch.setattr(
        graph_module, "_output_is_nonnegative", lambda node, inputs_nonnegative: False
    )
    general = innvestigate.create_analyzer(name, model).analyze(x)
    assert np.abs(general).max() > 0
    np.testing.assert_allclose(fast, general, rtol=1e-10, atol=1e-12)
