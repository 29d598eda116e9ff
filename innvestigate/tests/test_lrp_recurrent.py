"""LRP through recurrent layers (Arras et al. 2017/2019) against hand-unrolled float64 numpy
LSTM / GRU / SimpleRNN cells with a naive LRP written from the equations; conservation,
masking, Bidirectional, TimeDistributed, go_backwards and the refusals."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases
from innvestigate import backend
from innvestigate.analyzer.lrp.recurrent import (
    RecurrentRule,
    check_recurrent_layer,
    is_recurrent_layer,
)
from innvestigate.analyzer.lrp.rules import EpsilonRule
from innvestigate.engine.graph import build_graph
from innvestigate.engine.reverse import ReverseState
from innvestigate.exceptions import NotAnalyzeableModelException

N, T, D, U = 2, 5, 3, 4


@pytest.fixture(autouse=True)
def _float64_tanh_on_jax(monkeypatch):
    """On JAX, Keras 3.15 computes ``tanh`` of float64 tensors in float32 (the float64 -> float32
    mapping of its type promotion, keras-team/keras#23704, that conftest lifts on torch); the
    float64 oracles need it lifted here too, for the layer's own forward pass and the rule."""
    if keras.backend.backend() == "jax":
        from keras.src.backend.common import dtypes as keras_dtypes

        monkeypatch.setitem(keras_dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def stab(z, eps):
    return z + eps * np.where(z >= 0, 1.0, -1.0)


def share(contributions, z, r, eps):
    """ε-rule: contributions (n, K, J) of K summands to z (n, J) get ``c / (z ± ε) · R``."""
    den = stab(z, eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(den == 0, 0.0, r / np.where(den == 0, 1.0, den))
    return (contributions * q[:, None, :]).sum(-1)


def share_summand(summand, z, r, eps):
    """ε-rule for one summand of an element-wise sum ``z = Σ summands``: ``s / (z ± ε) · R``."""
    return share(summand[:, :, None] * np.eye(z.shape[1])[None], z, r, eps)


# -- hand-unrolled cells: forward step and naive LRP step ----------------------------------------------


def lstm_weights(layer):
    weights = [np.asarray(w) for w in layer.cell.get_weights()]
    W, Uk = weights[:2]
    return W, Uk, (weights[2] if layer.cell.use_bias else np.zeros(W.shape[1]))


def np_lstm(layer, x, states, mask, eps, r_steps, r_final):
    """Forward and LRP of an LSTM; ``r_steps[t]`` the relevance reaching h at processing step t."""
    W, Uk, b = lstm_weights(layer)
    u = Uk.shape[0]
    h, c = states
    cache, outs = [], []
    for t in range(x.shape[1]):
        xt = x[:, t]
        z = xt @ W + h @ Uk + b
        i, f, g, o = (
            sigmoid(z[:, :u]),
            sigmoid(z[:, u : 2 * u]),
            np.tanh(z[:, 2 * u : 3 * u]),
            sigmoid(z[:, 3 * u :]),
        )
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        m = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t : t + 1]
        cache.append((xt, h, c, i, f, g, z[:, 2 * u : 3 * u], c_new, m))
        h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        outs.append(h)
    rh, rc = r_final
    rx = np.zeros_like(x)
    for t in reversed(range(x.shape[1])):
        xt, hp, cp, i, f, g, zg, c_new, m = cache[t]
        rh = rh + r_steps[t]
        rh_new, rc_new = np.where(m, rh, 0.0), np.where(m, rc, 0.0)
        rc_tot = rc_new + rh_new  # o is a gate, tanh the identity
        # c = f c_prev + i g: ε-rule on the sum, f and i are gates
        r_cp, r_g = (
            share_summand(f * cp, c_new, rc_tot, eps),
            share_summand(i * g, c_new, rc_tot, eps),
        )
        Wg, Ug = W[:, 2 * u : 3 * u], Uk[:, 2 * u : 3 * u]
        rx[:, t] = share(xt[:, :, None] * Wg[None], zg, r_g, eps)
        r_hp = share(hp[:, :, None] * Ug[None], zg, r_g, eps)
        rh = r_hp + np.where(m, 0.0, rh)
        rc = r_cp + np.where(m, 0.0, rc)
    return np.stack(outs, 1), (h, c), rx, (rh, rc)


def np_gru(layer, x, states, mask, eps, r_steps, r_final):
    cell = layer.cell
    weights = [np.asarray(w) for w in cell.get_weights()]
    W, Uk = weights[:2]
    u = Uk.shape[0]
    if cell.use_bias:
        b = weights[2]
        b_in, b_rec = (b[0], b[1]) if cell.reset_after else (b, np.zeros(3 * u))
    else:
        b_in = b_rec = np.zeros(3 * u)
    (h,) = states
    cache, outs = [], []
    for t in range(x.shape[1]):
        xt = x[:, t]
        xz, xr, xh = np.split(xt @ W + b_in, 3, axis=1)
        z = sigmoid(xz + h @ Uk[:, :u] + b_rec[:u])
        r = sigmoid(xr + h @ Uk[:, u : 2 * u] + b_rec[u : 2 * u])
        if cell.reset_after:
            q = h @ Uk[:, 2 * u :] + b_rec[2 * u :]
            a = xh + r * q
        else:
            q = None
            a = xh + (r * h) @ Uk[:, 2 * u :]
        hh = np.tanh(a)
        h_new = z * h + (1 - z) * hh
        m = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t : t + 1]
        cache.append((xt, h, z, r, q, a, hh, h_new, m))
        h = np.where(m, h_new, h)
        outs.append(h)
    (rh,) = r_final
    rx = np.zeros_like(x)
    for t in reversed(range(x.shape[1])):
        xt, hp, z, r, q, a, hh, h_new, m = cache[t]
        rh = rh + r_steps[t]
        rn = np.where(m, rh, 0.0)
        # h = z h_prev + (1 - z) ĥ: ε-rule on the sum, z and 1 - z are gates
        r_direct, r_hh = (
            share_summand(z * hp, h_new, rn, eps),
            share_summand((1 - z) * hh, h_new, rn, eps),
        )
        Wh, Uh = W[:, 2 * u :], Uk[:, 2 * u :]
        rx[:, t] = share(xt[:, :, None] * Wh[None], a, r_hh, eps)
        if cell.reset_after:
            r_q = share_summand(r * q, a, r_hh, eps)  # the summand r ⊙ q of a; r is a gate
            r_rec = share(hp[:, :, None] * Uh[None], q, r_q, eps)
        else:
            r_rec = share((r * hp)[:, :, None] * Uh[None], a, r_hh, eps)  # r is a gate of r ⊙ h
        rh = r_direct + r_rec + np.where(m, 0.0, rh)
    return np.stack(outs, 1), (h,), rx, (rh,)


def np_simple(layer, x, states, mask, eps, r_steps, r_final):
    weights = [np.asarray(w) for w in layer.cell.get_weights()]
    W, Uk = weights[:2]
    b = weights[2] if layer.cell.use_bias else np.zeros(W.shape[1])
    (h,) = states
    cache, outs = [], []
    for t in range(x.shape[1]):
        a = x[:, t] @ W + h @ Uk + b
        m = np.ones((x.shape[0], 1), bool) if mask is None else mask[:, t : t + 1]
        cache.append((x[:, t], h, a, m))
        h = np.where(m, np.tanh(a), h)
        outs.append(h)
    (rh,) = r_final
    rx = np.zeros_like(x)
    for t in reversed(range(x.shape[1])):
        xt, hp, a, m = cache[t]
        rh = rh + r_steps[t]
        rn = np.where(m, rh, 0.0)
        rx[:, t] = share(xt[:, :, None] * W[None], a, rn, eps)
        rh = share(hp[:, :, None] * Uk[None], a, rn, eps) + np.where(m, 0.0, rh)
    return np.stack(outs, 1), (h,), rx, (rh,)


def np_rnn(layer, x, eps, r_out, states=None, r_final=None, mask=None):
    """Runs the numpy oracle as Keras would run ``layer`` (go_backwards, return_sequences)."""
    cell = type(layer.cell).__name__
    fn = {"LSTMCell": np_lstm, "GRUCell": np_gru, "SimpleRNNCell": np_simple}[cell]
    n_states = 2 if cell == "LSTMCell" else 1
    states = states or [np.zeros((x.shape[0], layer.cell.units))] * n_states
    r_final = r_final or [np.zeros((x.shape[0], layer.cell.units))] * n_states
    if layer.go_backwards:
        x = x[:, ::-1]
        mask = None if mask is None else mask[:, ::-1]
    steps = x.shape[1]
    if layer.return_sequences:
        r_steps = [r_out[:, t] for t in range(steps)]
    else:
        r_steps = [np.zeros_like(r_out)] * (steps - 1) + [r_out]
    outs, final, rx, r_init = fn(layer, x, states, mask, eps, r_steps, r_final)
    if layer.go_backwards:
        rx = rx[:, ::-1]
    out = outs if layer.return_sequences else outs[:, -1]
    return out, final, rx, r_init


# -- running the rule on one node ---------------------------------------------------------------------


def rule_on_node(model, rule, xs, relevances, output_index=0):
    """Applies ``rule`` to the model's last node with the given output relevances."""
    graph = build_graph(model, output_index)
    values, _ = graph.forward([keras.ops.convert_to_tensor(x) for x in xs])
    node = graph.nodes[-1]
    state = ReverseState(node, graph)
    state._inputs = [values[k] for k in node.input_keys]
    outs = rule(
        state._inputs,
        [values[k] for k in node.output_keys],
        [keras.ops.convert_to_tensor(r) for r in relevances],
        state,
    )
    to_np = backend.get().to_numpy
    return [np.asarray(to_np(o)) for o in outs], [
        np.asarray(to_np(values[k])) for k in node.output_keys
    ]


LAYERS = {
    "lstm": lambda **kw: keras.layers.LSTM(U, **kw),
    "gru_reset_after": lambda **kw: keras.layers.GRU(U, reset_after=True, **kw),
    "gru_reset_before": lambda **kw: keras.layers.GRU(U, reset_after=False, **kw),
    "simple_rnn": lambda **kw: keras.layers.SimpleRNN(U, **kw),
    "rnn_lstm_cell": lambda **kw: keras.layers.RNN(keras.layers.LSTMCell(U), **kw),
    "rnn_gru_cell": lambda **kw: keras.layers.RNN(keras.layers.GRUCell(U), **kw),
}


# go_backwards with return_sequences checks both the reversed input and the output order.
ORACLE_CASES = [(kind, False, False) for kind in LAYERS] + [
    (kind, True, go_backwards)
    for kind in LAYERS
    if not kind.startswith("rnn_")
    for go_backwards in (False, True)
]


@pytest.mark.backend
@pytest.mark.parametrize("kind,return_sequences,go_backwards", ORACLE_CASES)
def test_rule_matches_numpy_oracle(float64, rng, kind, return_sequences, go_backwards):
    layer = LAYERS[kind](return_sequences=return_sequences, go_backwards=go_backwards)
    inp = keras.Input((T, D))
    model = keras.Model(inp, layer(inp))
    randomize_biases(model, rng)
    x = rng.normal(size=(N, T, D))
    r_out = rng.normal(size=(N, T, U) if return_sequences else (N, U))
    out, _, rx, _ = np_rnn(layer, x, 0.01, r_out)
    (got,), (keras_out,) = rule_on_node(model, RecurrentRule(0.01), [x], [r_out])
    np.testing.assert_allclose(out, keras_out, rtol=0, atol=1e-10)  # the oracle is the layer
    np.testing.assert_allclose(got, rx, rtol=1e-8, atol=1e-10)


@pytest.mark.backend
@pytest.mark.parametrize("kind", ["lstm", "gru_reset_after", "simple_rnn"])
def test_initial_and_returned_states(float64, rng, kind):
    layer = LAYERS[kind](return_sequences=True, return_state=True)
    n_states = 2 if kind == "lstm" else 1
    inp = keras.Input((T, D))
    init = [keras.Input((U,)) for _ in range(n_states)]
    outs = layer(inp, initial_state=init)
    model = keras.Model([inp] + init, outs)
    randomize_biases(model, rng)
    x = rng.normal(size=(N, T, D))
    s0 = [rng.normal(size=(N, U)) for _ in range(n_states)]
    r_out = rng.normal(size=(N, T, U))
    r_final = [rng.normal(size=(N, U)) for _ in range(n_states)]
    out, final, rx, r_init = np_rnn(layer, x, 0.0, r_out, states=s0, r_final=r_final)
    got, keras_outs = rule_on_node(model, RecurrentRule(0.0), [x] + s0, [r_out] + r_final)
    for a, b in zip([out, *final], keras_outs):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[0], rx, rtol=1e-8, atol=1e-10)
    for g, r in zip(got[1:], r_init):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-10)


def _explained(model, x):
    return np.asarray(model.predict(x, verbose=0)).max(axis=1)


def _lrp_z(model):
    return innvestigate.create_analyzer(
        "lrp", model, rule="Z", rules=[(is_recurrent_layer, RecurrentRule(0.0))]
    )


def _eager(analyzer, x):
    """The analysis without compiling it (tracing a recurrent analysis costs seconds per shape)."""
    return analyzer.analyze_with_intermediates(x)[0]


@pytest.mark.backend
@pytest.mark.parametrize(
    "kind,return_sequences,head",
    [
        ("lstm", False, None),
        ("lstm", True, "gap"),
        ("gru_reset_after", True, "flatten"),
        ("gru_reset_before", False, None),
        ("simple_rnn", True, "gap"),
        ("simple_rnn", False, None),
    ],
)
def test_conservation_without_bias(float64, rng, kind, return_sequences, head):
    inp = keras.Input((T, D))
    h = LAYERS[kind](return_sequences=return_sequences, use_bias=False)(inp)
    if head == "gap":
        h = keras.layers.GlobalAveragePooling1D()(h)
    elif head == "flatten":
        h = keras.layers.Flatten()(h)
    model = keras.Model(inp, keras.layers.Dense(3, use_bias=False)(h))
    x = rng.normal(size=(N, T, D))
    relevance = _eager(_lrp_z(model), x)
    np.testing.assert_allclose(relevance.sum(axis=(1, 2)), _explained(model, x), rtol=1e-6)


@pytest.mark.backend
@pytest.mark.parametrize(
    "merge_mode,return_sequences",
    [(mode, True) for mode in ("concat", "sum", "mul", "ave", None)]
    + [("concat", False), ("ave", False)],
)
def test_bidirectional_merge_modes(float64, rng, merge_mode, return_sequences):
    inp = keras.Input((T, D))
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(U, return_sequences=return_sequences), merge_mode=merge_mode
    )
    model = keras.Model(inp, layer(inp))
    randomize_biases(model, rng)
    x = rng.normal(size=(N, T, D))
    shape = (N, T, U) if return_sequences else (N, U)
    eps = 0.01
    y, _, _, _ = np_rnn(layer.forward_layer, x, eps, np.zeros(shape))
    y_rev, _, _, _ = np_rnn(layer.backward_layer, x, eps, np.zeros(shape))
    flip = (lambda a: a[:, ::-1]) if return_sequences else (lambda a: a)
    y_rev = flip(y_rev)  # Bidirectional flips the backward sequence into input order
    if merge_mode == "concat":
        r = rng.normal(size=shape[:-1] + (2 * U,))
        r_y, r_rev, relevances, expected = (
            r[..., :U],
            r[..., U:],
            [r],
            np.concatenate([y, y_rev], -1),
        )
    elif merge_mode is None:
        r_y, r_rev = rng.normal(size=shape), rng.normal(size=shape)
        relevances, expected = [r_y, r_rev], None
    else:
        r = rng.normal(size=shape)
        relevances = [r]
        if merge_mode == "mul":
            r_y = r_rev = r / 2
            expected = y * y_rev
        else:
            scale = 1.0 if merge_mode == "sum" else 0.5
            z = scale * (y + y_rev)
            q = r / stab(z, eps)
            r_y, r_rev, expected = scale * y * q, scale * y_rev * q, z
    _, _, rx_f, _ = np_rnn(layer.forward_layer, x, eps, r_y)
    _, _, rx_b, _ = np_rnn(layer.backward_layer, x, eps, flip(r_rev))
    (got,), keras_outs = rule_on_node(model, RecurrentRule(eps), [x], relevances)
    if expected is not None:
        np.testing.assert_allclose(keras_outs[0], expected, rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(keras_outs[1], y_rev, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got, rx_f + rx_b, rtol=1e-8, atol=1e-10)


@pytest.mark.backend
def test_bidirectional_initial_and_returned_states(float64, rng):
    inp = keras.Input((T, D))
    init = [keras.Input((U,)) for _ in range(4)]  # forward h, c, backward h, c
    layer = keras.layers.Bidirectional(keras.layers.LSTM(U, return_state=True), merge_mode="concat")
    model = keras.Model([inp] + init, layer(inp, initial_state=init))
    randomize_biases(model, rng)
    x = rng.normal(size=(N, T, D))
    s0 = [rng.normal(size=(N, U)) for _ in range(4)]
    r_out = rng.normal(size=(N, 2 * U))
    r_final = [rng.normal(size=(N, U)) for _ in range(4)]
    _, _, rx_f, ri_f = np_rnn(
        layer.forward_layer, x, 0.01, r_out[:, :U], states=s0[:2], r_final=r_final[:2]
    )
    _, _, rx_b, ri_b = np_rnn(
        layer.backward_layer, x, 0.01, r_out[:, U:], states=s0[2:], r_final=r_final[2:]
    )
    got, _ = rule_on_node(model, RecurrentRule(0.01), [x] + s0, [r_out] + r_final)
    np.testing.assert_allclose(got[0], rx_f + rx_b, rtol=1e-8, atol=1e-10)
    for g, r in zip(got[1:], list(ri_f) + list(ri_b)):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-10)


@pytest.mark.backend
@pytest.mark.parametrize(
    "kind,padding",
    [
        ("lstm", "post"),
        ("gru_reset_after", "pre"),
        ("bidirectional", "post"),
        ("bidirectional", "pre"),
    ],
)
def test_masked_steps_get_zero_and_match_the_shorter_sequence(float64, rng, kind, padding):
    inp = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(7, D, mask_zero=True)(inp)
    rnn = (
        keras.layers.Bidirectional(keras.layers.LSTM(U))
        if kind == "bidirectional"
        else LAYERS[kind]()
    )
    model = keras.Model(inp, keras.layers.Dense(3)(rnn(h)))
    randomize_biases(model, rng)
    tokens = rng.integers(1, 7, size=(N, 4))
    pad = np.zeros((N, 3), dtype="int64")
    padded = np.concatenate([tokens, pad] if padding == "post" else [pad, tokens], axis=1)
    analyzer = innvestigate.create_analyzer(
        "lrp", model, rule="Epsilon", rules=[(is_recurrent_layer, RecurrentRule(1e-7))]
    )
    short = _eager(analyzer, tokens.astype("int32"))
    full = _eager(analyzer, padded.astype("int32"))
    masked = slice(4, 7) if padding == "post" else slice(0, 3)
    kept = slice(0, 4) if padding == "post" else slice(3, 7)
    assert np.all(full[:, masked] == 0.0)
    np.testing.assert_allclose(full[:, kept], short, rtol=1e-8, atol=1e-12)


@pytest.mark.backend
def test_masking_layer_against_oracle(float64, rng):
    inp = keras.Input((T, D))
    layer = keras.layers.GRU(U, return_sequences=True)
    model = keras.Model(inp, layer(keras.layers.Masking(0.0)(inp)))
    randomize_biases(model, rng)
    x = rng.normal(size=(N, T, D))
    x[0, 1] = 0.0  # a masked step in the middle
    x[1, 3:] = 0.0
    mask = np.any(x != 0, axis=-1)
    r_out = rng.normal(size=(N, T, U))
    out, _, rx, _ = np_rnn(layer, x, 0.01, r_out, mask=mask)
    graph = build_graph(model)
    values = graph.run([keras.ops.convert_to_tensor(x)])
    node = graph.nodes[-1]
    state = ReverseState(node, graph, input_masks=[values.masks.get(k) for k in node.input_keys])
    xs = [values[k] for k in node.input_keys]
    # Keras records the mask as a call argument of the GRU node too: it gets no relevance.
    got, *others = RecurrentRule(0.01)(
        xs, [values[node.output_keys[0]]], [keras.ops.convert_to_tensor(r_out)], state
    )
    to_np = backend.get().to_numpy
    assert all(not np.any(np.asarray(to_np(o))) for o in others)
    np.testing.assert_allclose(
        np.asarray(to_np(values[node.output_keys[0]])), out, rtol=0, atol=1e-10
    )
    got = np.asarray(to_np(got))
    np.testing.assert_allclose(got, rx, rtol=1e-8, atol=1e-10)
    assert np.all(got[~mask] == 0.0)


@pytest.mark.backend
def test_time_distributed_dense_equals_dense_on_the_sequence(float64, rng):
    inp = keras.Input((T, D))
    dense = keras.layers.Dense(U, activation="tanh")
    td = keras.layers.TimeDistributed(dense)
    top = keras.layers.Dense(2)
    model_td = keras.Model(inp, top(keras.layers.Flatten()(td(inp))))
    model_plain = keras.Model(inp, top(keras.layers.Flatten()(dense(inp))))
    randomize_biases(model_td, rng)
    x = rng.normal(size=(N, T, D))
    eps = 0.01
    got = _eager(
        innvestigate.create_analyzer(
            "lrp", model_td, rule=EpsilonRule(eps), rules=[(is_recurrent_layer, RecurrentRule(eps))]
        ),
        x,
    )
    expected = _eager(innvestigate.create_analyzer("lrp.epsilon", model_plain, epsilon=eps), x)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.backend
def test_time_distributed_lstm_matches_oracle(float64, rng):
    inp = keras.Input((2, T, D))
    lstm = keras.layers.LSTM(U)
    model = keras.Model(inp, keras.layers.TimeDistributed(lstm)(inp))
    randomize_biases(model, rng)
    x = rng.normal(size=(N, 2, T, D))
    r = rng.normal(size=(N, 2, U))
    _, _, rx, _ = np_rnn(lstm, x.reshape(N * 2, T, D), 0.01, r.reshape(N * 2, U))
    (got,), _ = rule_on_node(model, RecurrentRule(0.01), [x], [r])
    np.testing.assert_allclose(got, rx.reshape(x.shape), rtol=1e-8, atol=1e-10)


@pytest.mark.backend
def test_compiled_analysis_conserves(rng):
    """The compiled analysis (tf.function / jax.jit traced with a Python loop over the steps),
    float32: LRP-Z through a bias-free LSTM conserves the output to float32 precision."""
    inp = keras.Input((T, D))
    model = keras.Model(
        inp, keras.layers.Dense(2, use_bias=False)(keras.layers.LSTM(U, use_bias=False)(inp))
    )
    x = rng.normal(size=(N, T, D)).astype("float32")
    relevance = _lrp_z(model).analyze(x)
    np.testing.assert_allclose(
        relevance.sum(axis=(1, 2)), _explained(model, x), rtol=1e-4, atol=1e-6
    )


class _CustomCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units))

    def call(self, x, states):
        h = keras.ops.matmul(x, self.kernel) + states[0]
        return h, [h]


class _Custom(keras.layers.Layer):
    def call(self, x):
        return x * 2

    def compute_output_shape(self, input_shape):
        return input_shape


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: keras.layers.LSTM(U, stateful=True), "stateful"),
        (
            lambda: keras.layers.RNN([keras.layers.LSTMCell(U), keras.layers.GRUCell(U)]),
            "StackedRNNCells",
        ),
        (lambda: keras.layers.RNN(_CustomCell(U)), "_CustomCell"),
        (lambda: keras.layers.Bidirectional(keras.layers.GRU(U, stateful=True)), "stateful"),
        (lambda: keras.layers.TimeDistributed(_Custom()), "no LRP rule inside TimeDistributed"),
    ],
)
def test_refusals_at_analyzer_creation(make, match):
    inp = keras.Input((T, D), batch_size=N)
    h = make()(inp)
    if len(h.shape) == 3:
        h = keras.layers.Flatten()(h)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    with pytest.raises(NotAnalyzeableModelException, match=match) as info:
        innvestigate.create_analyzer(
            "lrp", model, rule="Epsilon", rules=[(is_recurrent_layer, RecurrentRule())]
        )
    assert info.value.layers


def test_conv_lstm_is_refused():
    layer = keras.layers.ConvLSTM1D(2, 3)
    layer(keras.Input((T, 6, 1)))  # builds the layer
    with pytest.raises(NotAnalyzeableModelException, match="ConvLSTMCell"):
        check_recurrent_layer(layer)


def test_epsilon_is_validated_and_config():
    with pytest.raises(ValueError, match="epsilon"):
        RecurrentRule(-1.0)
    assert RecurrentRule(0.5).get_config() == {"epsilon": 0.5}
