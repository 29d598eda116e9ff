"""Engine shortcuts that must not change any number: cached folded weights, direct layer
calls, the ε-division without a zero test, and (TensorFlow) VJPs without weight gradients."""

import keras
import numpy as np
import pytest
from keras import ops

import innvestigate
from innvestigate import backend
from innvestigate.analyzer.lrp import rules
from innvestigate.engine import graph as graph_module
from innvestigate.engine.canonizers import FuseBatchNormalization, SplitActivation
from innvestigate.engine.graph import build_graph, weights_cached

pytestmark = pytest.mark.backend


def conv_bn_model():
    inp = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(3, 3, name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Activation("relu")(h)
    out = keras.layers.Dense(2, name="dense")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    bn = model.get_layer("bn")
    bn.moving_mean.assign(rng.normal(size=3).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, size=3).astype("float32"))
    return model


def test_weights_are_computed_once_per_block_and_read_fresh_after():
    model = conv_bn_model()
    graph = FuseBatchNormalization().apply(SplitActivation().apply(build_graph(model)))
    node = next(n for n in graph.nodes if n.has_kernel and n.fused)
    with weights_cached():
        k1, b1 = node.weights()
        k2, b2 = node.weights()
        assert k1[0] is k2[0] and b1 is b2
    k3, _ = node.weights()
    assert k3[0] is not k1[0]
    # A compiled analysis reads the current variables at every call (the cache lives only
    # inside one trace): changing the BatchNorm statistics changes the folded weights.
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 2)).astype("float32")
    analyzer = innvestigate.create_analyzer("lrp.epsilon", model)
    before = analyzer.analyze(x)
    model.get_layer("bn").moving_variance.assign(np.full(3, 4.0, "float32"))
    after = analyzer.analyze(x)
    fresh = innvestigate.create_analyzer("lrp.epsilon", model).analyze(x)
    np.testing.assert_array_equal(after, fresh)
    assert not np.allclose(before, after)


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.layers.Dense(3, activation="relu"),
        lambda: keras.layers.Conv2D(3, 2, strides=2, padding="same"),
    ],
)
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_direct_call_equals_layer_call(make, input_dtype):
    layer = make()
    shape = (2, 4) if isinstance(layer, keras.layers.Dense) else (2, 4, 4, 2)
    layer.build(shape)
    x = ops.convert_to_tensor(np.random.default_rng(0).normal(size=shape).astype(input_dtype))
    with graph_module.activation_removed(layer):
        direct = graph_module._direct_call(layer, x)
        expected = layer(x)
    assert direct is not None
    np.testing.assert_array_equal(ops.convert_to_numpy(direct[0]), ops.convert_to_numpy(expected))
    assert keras.backend.standardize_dtype(direct[0].dtype) == "float32"


def test_direct_call_declines_mixed_precision():
    layer = keras.layers.Dense(2, dtype="mixed_float16")
    layer.build((1, 3))
    assert graph_module._direct_call(layer, ops.ones((1, 3))) is None


@pytest.mark.parametrize("epsilon", [1e-7, 0.5, 0.0, 1e-50])
def test_divide_stabilized_equals_the_guarded_quotient(epsilon):
    # 1e-50 is 0 in float32: the zero test is kept there.
    z = ops.convert_to_tensor(np.array([0.0, -0.0, 1e-8, -1e-8, 2.0, -3.0, 1e-30], "float32"))
    r = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1e-9], "float32"))
    got = ops.convert_to_numpy(rules._divide_stabilized(r, z, epsilon))
    den = ops.convert_to_numpy(z) + np.where(
        ops.convert_to_numpy(z) >= 0, np.float32(epsilon), -np.float32(epsilon)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(
            den == 0, 0.0, ops.convert_to_numpy(r) / np.where(den == 0, 1.0, den)
        ).astype("float32")
    np.testing.assert_array_equal(got, expected)
    assert np.all(np.isfinite(got))


@pytest.mark.skipif(backend.name() != "tensorflow", reason="inspects the traced TensorFlow graph")
def test_tensorflow_vjps_build_no_weight_gradients():
    import tensorflow as tf

    model = conv_bn_model()
    analyzer = innvestigate.create_analyzer("lrp.epsilon", model)
    x = np.ones((1, 6, 6, 2), "float32")
    analyzer.analyze(x)

    def fn(inputs, indices):
        return analyzer._reverse(inputs, indices)

    graph = (
        tf.function(fn, autograph=False)
        .get_concrete_function([tf.constant(x)], tf.constant([0]))
        .graph
    )
    types = [op.type for op in graph.get_operations()]
    assert "Conv2DBackpropInput" in types  # the relevance goes back through the convolution
    # The Dense layer: its forward product and the VJP for its input; a watched kernel
    # variable would add a third (the kernel gradient), and the folded BatchNorm its chain.
    assert types.count("MatMul") == 2
    assert "AddN" not in types


class _Records:
    """The messages the ``tensorflow`` logger emits inside the block (TF logs retracing there)."""

    def __init__(self):
        import logging

        self.messages = []
        self._logger = logging.getLogger("tensorflow")
        self._handler = logging.Handler()
        self._handler.emit = lambda record: self.messages.append(record.getMessage())

    def __enter__(self):
        self._level = self._logger.level
        self._logger.setLevel("WARNING")
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)


@pytest.mark.skipif(backend.name() != "tensorflow", reason="tf.function's retracing warning")
def test_analyzers_created_in_a_loop_give_no_retracing_warning():
    import tensorflow as tf

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Dense(5, activation="relu")(inp)))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    # Control: the capture sees the warning for closures of one code traced in a loop.
    with _Records() as control:
        for scale in range(7):
            tf.function(lambda t, s=scale: t * s)(tf.constant(x))
    assert any("retracing" in m for m in control.messages)

    with _Records() as records:
        results = []
        for _ in range(7):
            analyzer = innvestigate.create_analyzer("gradient", model)
            results.append(analyzer.analyze(x))
            analyzer.analyze(x[:2])  # a second signature per analyzer
    assert not [m for m in records.messages if "retracing" in m]
    # Each compiled analyzer still computes the gradient of the largest output, by hand:
    # W1 diag(relu'(x W1 + b1)) W2[:, j].
    (w1, b1), (w2, b2) = (layer.get_weights() for layer in model.layers[1:])
    h = x @ w1 + b1
    j = np.argmax(np.maximum(h, 0) @ w2 + b2, axis=1)
    expected = ((h > 0) * w2[:, j].T) @ w1.T
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=1e-5, atol=1e-6)
