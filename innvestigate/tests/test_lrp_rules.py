"""Each LRP / Deep Taylor rule against a naive dense-matrix numpy implementation of its
formula (Eqs. II.31–II.37, V.1, A.3), on small random layers with non-zero biases."""

import keras
import numpy as np
import pytest

from conftest import randomize_biases
from innvestigate import backend
from innvestigate.analyzer.lrp import rules
from innvestigate.engine.canonizers import SplitActivation
from innvestigate.engine.graph import build_graph
from innvestigate.engine.reverse import ReverseState

pytestmark = pytest.mark.backend


def apply_rule(model, rule, x, relevance, node_index=0):
    """Runs ``rule`` on one node of ``model`` for inputs ``x`` and output relevance."""
    graph = SplitActivation().apply(build_graph(model))
    values, vjps = graph.forward([keras.ops.convert_to_tensor(x)], record_vjp=True)
    node = graph.nodes[node_index]
    state = ReverseState(node, graph, vjps[node.position])
    xs = [values[k] for k in node.input_keys]
    ys = [values[k] for k in node.output_keys]
    out = rule(xs, ys, [keras.ops.convert_to_tensor(relevance)], state)
    return np.asarray(backend.get().to_numpy(out[0]))


def dense_matrix(layer, kernel, input_shape):
    """The layer's linear map (no bias) with ``kernel`` as a dense matrix (d_in, d_out)."""
    d = int(np.prod(input_shape))
    basis = np.eye(d).reshape((d,) + tuple(input_shape))
    if isinstance(layer, keras.layers.Dense):
        return kernel
    out = keras.ops.conv(basis, kernel, strides=layer.strides, padding=layer.padding)
    return np.asarray(out).reshape(d, -1)


def safe(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


# -- naive formulas on matrices: x (n, d), W (d, k), b (k,), R (n, k) ------------------------------


def naive_z(x, W, b, R, eps=0.0, bias=True):
    z = x @ W + (b if bias else 0)
    if eps:
        z = z + eps * np.where(z >= 0, 1, -1)
    return x * (safe(R, z) @ W.T)


def naive_alpha_beta(x, W, b, R, alpha, beta, bias=True):
    c = x[:, :, None] * W[None]  # (n, d, k) contributions x_i w_ij
    cp, cn = np.maximum(c, 0), np.minimum(c, 0)
    zp = cp.sum(1) + (np.maximum(b, 0) if bias else 0)
    zn = cn.sum(1) + (np.minimum(b, 0) if bias else 0)
    return (alpha * cp * safe(R, zp)[:, None, :] - beta * cn * safe(R, zn)[:, None, :]).sum(-1)


def naive_w_square(x, W, b, R):
    W2 = W**2
    return safe(R, np.ones_like(x) @ W2) @ W2.T


def naive_flat(x, W_ones, b, R):
    return safe(R, np.ones_like(x) @ W_ones) @ W_ones.T


def naive_z_plus_fast(x, W, b, R):
    Wp = np.maximum(W, 0)
    return x * (safe(R, x @ Wp) @ Wp.T)


def naive_gamma(x, W, b, R, gamma):
    Wg = W + gamma * np.maximum(W, 0)
    bg = b + gamma * np.maximum(b, 0)
    return x * (safe(R, x @ Wg + bg) @ Wg.T)


def naive_bounded(x, W, b, R, low, high):
    Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
    lo, hi = np.full_like(x, low), np.full_like(x, high)
    z = x @ W - lo @ Wp - hi @ Wn
    s = safe(R, z)
    return x * (s @ W.T) - lo * (s @ Wp.T) - hi * (s @ Wn.T)


def make_layer_model(kind, rng):
    if kind == "dense":
        inp = keras.Input((5,))
        layer = keras.layers.Dense(4, activation="relu")
    else:
        inp = keras.Input((5, 5, 2))
        layer = keras.layers.Conv2D(
            3,
            3,
            strides=2 if kind == "conv_strided" else 1,
            padding="same" if kind == "conv_same" else "valid",
            activation="relu",
        )
    model = keras.Model(inp, layer(inp))
    randomize_biases(model, rng)
    return model, layer


CASES = [
    ("z", lambda: rules.ZRule(), lambda x, W, b, R, Wo: naive_z(x, W, b, R)),
    (
        "z_IB",
        lambda: rules.ZRule(bias=False),
        lambda x, W, b, R, Wo: naive_z(x, W, b, R, bias=False),
    ),
    (
        "epsilon",
        lambda: rules.EpsilonRule(0.3),
        lambda x, W, b, R, Wo: naive_z(x, W, b, R, eps=0.3),
    ),
    (
        "epsilon_IB",
        lambda: rules.EpsilonRule(0.3, bias=False),
        lambda x, W, b, R, Wo: naive_z(x, W, b, R, eps=0.3, bias=False),
    ),
    (
        "alpha2beta1",
        lambda: rules.Alpha2Beta1Rule(),
        lambda x, W, b, R, Wo: naive_alpha_beta(x, W, b, R, 2, 1),
    ),
    (
        "alpha2beta1_IB",
        lambda: rules.Alpha2Beta1Rule(bias=False),
        lambda x, W, b, R, Wo: naive_alpha_beta(x, W, b, R, 2, 1, False),
    ),
    (
        "alpha1beta0",
        lambda: rules.Alpha1Beta0Rule(),
        lambda x, W, b, R, Wo: naive_alpha_beta(x, W, b, R, 1, 0),
    ),
    (
        "alpha3beta2",
        lambda: rules.AlphaBetaRule(3, 2),
        lambda x, W, b, R, Wo: naive_alpha_beta(x, W, b, R, 3, 2),
    ),
    (
        "z_plus",
        lambda: rules.ZPlusRule(),
        lambda x, W, b, R, Wo: naive_alpha_beta(x, W, b, R, 1, 0, False),
    ),
    (
        "z_plus_fast",
        lambda: rules.ZPlusFastRule(),
        lambda x, W, b, R, Wo: naive_z_plus_fast(x, W, b, R),
    ),
    ("w_square", lambda: rules.WSquareRule(), lambda x, W, b, R, Wo: naive_w_square(x, W, b, R)),
    ("flat", lambda: rules.FlatRule(), lambda x, W, b, R, Wo: naive_flat(x, Wo, b, R)),
    ("gamma", lambda: rules.GammaRule(0.5), lambda x, W, b, R, Wo: naive_gamma(x, W, b, R, 0.5)),
    (
        "bounded",
        lambda: rules.BoundedRule(-1.5, 2.0),
        lambda x, W, b, R, Wo: naive_bounded(x, W, b, R, -1.5, 2.0),
    ),
]


@pytest.mark.parametrize("kind", ["dense", "conv_valid", "conv_same", "conv_strided"])
@pytest.mark.parametrize("name,make_rule,naive", CASES, ids=[c[0] for c in CASES])
def test_rule_matches_naive_formula(float64, rng, kind, name, make_rule, naive):
    model, layer = make_layer_model(kind, rng)
    in_shape = tuple(model.inputs[0].shape[1:])
    x = rng.normal(size=(3,) + in_shape)
    if name == "z_plus_fast":
        x = np.abs(x)  # Eq. V.1 assumes non-negative inputs
    if name == "bounded":
        x = np.clip(x, -1.5, 2.0)
    out_shape = tuple(model.outputs[0].shape[1:])
    R = rng.normal(size=(3,) + out_shape)
    kernel, bias = (np.asarray(w) for w in layer.get_weights())
    W = dense_matrix(layer, kernel, in_shape)
    W_ones = dense_matrix(layer, np.ones_like(kernel), in_shape)
    b = np.broadcast_to(bias, out_shape).reshape(-1)
    expected = naive(x.reshape(3, -1), W, b, R.reshape(3, -1), W_ones).reshape(x.shape)
    got = apply_rule(model, make_rule(), x, R)
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "rule_name,rule",
    [
        ("one_linear", rules.BatchNormEpsilonRule(epsilon=0.01)),
        ("two_linear", rules.BatchNormTwoLinearRule(epsilon=0.01)),
        ("hui_binder", rules.BatchNormAlphaBetaRule()),
    ],
)
def test_batchnorm_rules_match_formulas(float64, rng, rule_name, rule):
    inp = keras.Input((4, 4, 3))
    bn = keras.layers.BatchNormalization(epsilon=1e-3)
    model = keras.Model(inp, bn(inp))
    randomize_biases(model, rng)
    gamma, beta, mean, var = (np.asarray(v) for v in bn.get_weights())
    w = gamma / np.sqrt(var + 1e-3)
    b = beta - mean * w
    x = rng.normal(size=(2, 4, 4, 3))
    R = rng.normal(size=(2, 4, 4, 3))
    got = apply_rule(model, rule, x, R)
    sign = lambda z: np.where(z >= 0, 1.0, -1.0)  # noqa: E731
    if rule_name == "one_linear":
        z = w * x + b
        expected = w * x * safe(R, z + 0.01 * sign(z))
    elif rule_name == "two_linear":
        t = x - mean
        y = w * t + beta
        r_t = w * t * safe(R, y + 0.01 * sign(y))
        expected = x * safe(r_t, t + 0.01 * sign(t))
    else:  # Eq. A.3 with α = (2, −1, 0, 0)
        xp, wp, wn, bp, bn_ = (
            np.maximum(x, 0),
            np.maximum(w, 0),
            np.minimum(w, 0),
            np.maximum(b, 0),
            np.minimum(b, 0),
        )
        expected = (2 * safe(xp * wp, xp * wp + bp) - 1 * safe(xp * wn, xp * wn + bn_)) * R
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


def test_unknown_rule_name_lists_rules():
    with pytest.raises(ValueError, match="Epsilon"):
        rules.get_rule("nope")


def test_alpha_beta_validates():
    with pytest.raises(ValueError, match="alpha - beta = 1"):
        rules.AlphaBetaRule(2, 2)
