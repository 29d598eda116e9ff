"""LRP for transformers: the LN-rule, the AH-rule, AttnLRP, Embedding inputs, gates, merges and
conservation, each against a naive float64 numpy re-implementation of its formula."""

import keras
import numpy as np
import pytest

import innvestigate
from conftest import randomize_biases
from innvestigate.analyzer.lrp import attention
from innvestigate.exceptions import NotAnalyzeableModelException

pytestmark = pytest.mark.backend

TINY = 1e-7
# XLA's compiled CPU kernels for tanh, rsqrt, exp, ... are not correctly rounded in float64
# (relative errors up to ~1e-8 against numpy, amplified by cancellation), so the JAX oracles compare at 1e-5.
RTOL = 1e-5 if keras.backend.backend() == "jax" else 1e-7
# Keras 3.15's ops.dot_product_attention on JAX returns float32 for float64 inputs, so the
# MultiHeadAttention layer's own output (which the model's forward pass uses) is float32-exact.
ATTENTION_RTOL = 1e-4 if keras.backend.backend() == "jax" else RTOL
ATTENTION_ATOL = 1e-7 if keras.backend.backend() == "jax" else 1e-10


def stab(z, eps):
    return z + eps * np.where(z >= 0, 1.0, -1.0)


def safe(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def div(r, z, eps):
    return safe(r, z) if eps == 0 else r / stab(z, eps)


def softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def mha_weights(mha):
    out = {}
    for part in ("query", "key", "value", "attention_output"):
        sub = {
            "query": mha.query_dense,
            "key": mha.key_dense,
            "value": mha.value_dense,
            "attention_output": mha.output_dense,
        }[part]
        out[part] = [np.asarray(keras.ops.convert_to_numpy(w)) for w in sub.weights]
    return out


# -- numpy forward and reverse pieces --------------------------------------------------------------


def np_mha(x, W, n_heads, key_dim):
    """Self-attention forward (B, T, d) -> out, keeping the intermediate values."""
    (wq, bq), (wk, bk), (wv, bv), (wo, bo) = W["query"], W["key"], W["value"], W["attention_output"]
    q = np.einsum("btd,dnh->btnh", x, wq) + bq
    k = np.einsum("bsd,dnh->bsnh", x, wk) + bk
    v = np.einsum("bsd,dnh->bsnh", x, wv) + bv
    qs = q / np.sqrt(key_dim)
    scores = np.einsum("btnh,bsnh->bnts", qs, k)
    a = softmax(scores)
    ctx = np.einsum("bnts,bsnh->btnh", a, v)
    out = np.einsum("btnh,nhd->btd", ctx, wo) + bo
    return dict(q=q, k=k, v=v, qs=qs, scores=scores, a=a, ctx=ctx, out=out)


def np_mha_relevance(x, W, f, r_out, eps, attnlrp):
    (wq, _), (wk, _), (wv, _), (wo, _) = W["query"], W["key"], W["value"], W["attention_output"]
    r_ctx = f["ctx"] * np.einsum("btd,nhd->btnh", div(r_out, f["out"], eps), wo)
    if not attnlrp:
        r_v = f["v"] * np.einsum("bnts,btnh->bsnh", f["a"], div(r_ctx, f["ctx"], TINY))
        return x * np.einsum("bsnh,dnh->bsd", div(r_v, f["v"], eps), wv)
    s = div(r_ctx, 2 * f["ctx"], TINY)
    r_a = f["a"] * np.einsum("btnh,bsnh->bnts", s, f["v"])
    r_v = f["v"] * np.einsum("bnts,btnh->bsnh", f["a"], s)
    r_scores = f["scores"] * (r_a - f["a"] * r_a.sum(-1, keepdims=True))
    s2 = div(r_scores, 2 * f["scores"], TINY)
    r_q = f["qs"] * np.einsum("bnts,bsnh->btnh", s2, f["k"])
    r_k = f["k"] * np.einsum("bnts,btnh->bsnh", s2, f["qs"])
    back = lambda r, z, w: x * np.einsum("bsnh,dnh->bsd", div(r, z, eps), w)  # noqa: E731
    return back(r_q, f["q"], wq) + back(r_k, f["k"], wk) + back(r_v, f["v"], wv)


def np_gap_dense_head(h, wd, bd, eps, selected):
    """GlobalAveragePooling1D + Dense(k): relevance at h for the selected logit."""
    pooled = h.mean(1)
    logits = pooled @ wd + bd
    r_logit = np.zeros_like(logits)
    r_logit[np.arange(len(h)), selected] = logits[np.arange(len(h)), selected]
    r_pooled = pooled * (div(r_logit, logits, eps) @ wd.T)
    # Average pooling: the z-rule with the tiny stabiliser (exact z-rule for LRP-Z).
    r_h = (h / h.shape[1]) * div(r_pooled, pooled, TINY if eps else 0.0)[:, None, :]
    return logits, r_h


@pytest.fixture
def attention_model(float64, rng):
    inp = keras.Input((5, 6))
    # key_dim 4: the scale 1/2 is exact in float32, which TensorFlow's dot_product_attention
    # rounds a Python-float scale to (the oracle works in float64).
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")
    h = mha(inp, inp)
    out = keras.layers.Dense(4, name="head")(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, out)
    randomize_biases(model, rng, 0.3)
    return model, mha


def test_attention_recomputation_matches_the_layer(attention_model, rng):
    model, mha = attention_model
    x = rng.normal(size=(3, 5, 6))
    f = np_mha(x, mha_weights(mha), 2, 4)
    np.testing.assert_allclose(
        f["out"], keras.ops.convert_to_numpy(mha(x, x)), rtol=ATTENTION_RTOL, atol=1e-12
    )


@pytest.mark.parametrize(
    "name,eps,attnlrp",
    [("lrp.epsilon", 0.01, False), ("lrp.z", 0.0, False), ("lrp.attnlrp", 1e-6, True)],
)
def test_attention_rules_match_numpy(attention_model, rng, name, eps, attnlrp):
    model, mha = attention_model
    x = rng.normal(size=(3, 5, 6))
    W = mha_weights(mha)
    f = np_mha(x, W, 2, 4)
    wd, bd = [keras.ops.convert_to_numpy(w) for w in model.get_layer("head").weights]
    logits = f["out"].mean(1) @ wd + bd
    selected = logits.argmax(1)
    params = {"epsilon": eps} if name != "lrp.z" else {}
    _, r_h = np_gap_dense_head(f["out"], wd, bd, eps, selected)
    expected = np_mha_relevance(x, W, f, r_h, eps, attnlrp)
    got = innvestigate.create_analyzer(name, model, **params).analyze(x)
    np.testing.assert_allclose(got, expected, rtol=ATTENTION_RTOL, atol=ATTENTION_ATOL)


def test_ah_rule_gives_query_and_key_nothing(float64, rng):
    q_in, v_in = keras.Input((4, 5)), keras.Input((6, 5))
    h = keras.layers.MultiHeadAttention(num_heads=1, key_dim=2)(q_in, v_in)
    model = keras.Model([q_in, v_in], keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    x = [rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 6, 5))]
    r_q, r_v = innvestigate.create_analyzer("lrp.epsilon", model).analyze(x)
    assert np.all(r_q == 0) and np.abs(r_v).sum() > 0
    r_q, r_v = innvestigate.create_analyzer("lrp.attnlrp", model).analyze(x)
    assert np.abs(r_q).sum() > 0


@pytest.mark.parametrize(
    "layer_cls", ["LayerNormalization", "RMSNormalization", "GroupNormalization"]
)
def test_ln_rule_matches_numpy(float64, rng, layer_cls):
    d, eps = 6, 0.05
    kwargs = (
        {"groups": 2, "epsilon": 1e-3} if layer_cls == "GroupNormalization" else {"epsilon": 1e-3}
    )
    norm = getattr(keras.layers, layer_cls)(**kwargs)
    inp = keras.Input((d,))
    model = keras.Model(inp, keras.layers.Dense(3, name="head")(norm(inp)))
    randomize_biases(model, rng, 0.3)
    for v in norm.weights:  # non-trivial scale
        v.assign(rng.uniform(0.5, 1.5, size=v.shape))
    x = rng.normal(size=(4, d))
    y = keras.ops.convert_to_numpy(norm(x))
    wd, bd = [keras.ops.convert_to_numpy(w) for w in model.get_layer("head").weights]
    logits = y @ wd + bd
    sel = logits.argmax(1)
    r_logit = np.zeros_like(logits)
    r_logit[np.arange(4), sel] = logits[np.arange(4), sel]
    r_y = y * (div(r_logit, logits, eps) @ wd.T)
    s = div(r_y, y, TINY)
    # Jacobian of the map with σ fixed, by groups: (δ_ij − c/m) γ_j / σ.
    groups = 2 if layer_cls == "GroupNormalization" else 1
    m = d // groups
    gamma = np.ones(d)
    for v in norm.weights:
        if v.name in ("gamma", "scale"):
            gamma = keras.ops.convert_to_numpy(v)
    expected = np.zeros_like(x)
    for b in range(4):
        for g in range(groups):
            sl = slice(g * m, (g + 1) * m)
            xg = x[b, sl]
            if layer_cls == "RMSNormalization":
                inv = 1 / np.sqrt((xg**2).mean() + 1e-3)
                jac = np.eye(m) * inv * gamma[sl][None, :]
            else:
                inv = 1 / np.sqrt(xg.var() + 1e-3)
                jac = (np.eye(m) - 1.0 / m) * inv * gamma[sl][None, :]
            expected[b, sl] = xg * (jac @ s[b, sl])
    got = innvestigate.create_analyzer("lrp.epsilon", model, epsilon=eps).analyze(x)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-10)


# -- the transformer block: token inputs, conservation --------------------------------------------


def transformer(
    vocab=30, length=7, d=8, heads=2, bias=True, positions=True, mask_zero=False, gelu="gelu"
):
    tokens = keras.Input((length,), dtype="int32", name="tokens")
    inputs = [tokens]
    h = keras.layers.Embedding(vocab, d, mask_zero=mask_zero, name="tok")(tokens)
    if positions:
        pos = keras.Input((length,), dtype="int32", name="positions")
        inputs.append(pos)
        h = keras.layers.Add()([h, keras.layers.Embedding(length, d, name="pos")(pos)])
    a = keras.layers.MultiHeadAttention(heads, d // heads, use_bias=bias)(h, h)
    h = keras.layers.LayerNormalization(center=bias)(keras.layers.Add()([h, a]))
    f = keras.layers.Dense(2 * d, activation=gelu, use_bias=bias)(h)
    f = keras.layers.Dense(d, use_bias=bias)(keras.layers.Dropout(0.1)(f))
    h = keras.layers.LayerNormalization(center=bias)(keras.layers.Add()([h, f]))
    out = keras.layers.Dense(3, use_bias=bias)(keras.layers.GlobalAveragePooling1D()(h))
    return keras.Model(inputs if len(inputs) > 1 else tokens, out)


def test_token_input_gives_one_value_per_token(rng):
    model = transformer(positions=False)
    x = rng.integers(0, 30, size=(2, 7)).astype("int32")
    for name in (
        "lrp.epsilon",
        "lrp.attnlrp",
        "gradient",
        "input_t_gradient",
        "integrated_gradients",
    ):
        params = {"steps": 8} if name == "integrated_gradients" else {}
        a = innvestigate.create_analyzer(name, model, **params)
        per_token = a.analyze(x)
        embedding_level = a.analyze(x, per_token=False)
        assert per_token.shape == (2, 7) and embedding_level.shape == (2, 7, 8)
        if name == "gradient":
            np.testing.assert_allclose(
                per_token, np.linalg.norm(embedding_level, axis=-1), rtol=1e-5
            )
        else:
            np.testing.assert_allclose(per_token, embedding_level.sum(-1), rtol=1e-5, atol=1e-6)


def test_input_times_gradient_on_tokens_is_taken_at_the_embeddings(float64, rng):
    model = transformer(positions=False)
    x = rng.integers(0, 30, size=(2, 7)).astype("int32")
    e = keras.ops.convert_to_numpy(model.get_layer("tok")(x))
    # The backend's own autodiff of the model from the embedding output on (not the engine).
    sub = keras.Model(model.get_layer("tok").output, model.output)
    grad = innvestigate.create_analyzer("gradient.baseline", sub).analyze(e)
    got = innvestigate.create_analyzer("input_t_gradient", model).analyze(x)
    np.testing.assert_allclose(got, (e * grad).sum(-1), rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("positions", [False, True])
def test_lrp_z_conserves_the_logit_on_a_bias_free_transformer(float64, rng, positions):
    model = transformer(bias=False, positions=positions)
    x = [rng.integers(0, 30, size=(3, 7)).astype("int32")]
    if positions:
        x.append(np.tile(np.arange(7, dtype="int32"), (3, 1)))
    logits = keras.ops.convert_to_numpy(model(x if positions else x[0]))
    r = innvestigate.create_analyzer("lrp.z", model).analyze(x if positions else x[0])
    total = sum(ri.sum(1) for ri in r) if positions else r.sum(1)
    np.testing.assert_allclose(total, logits.max(1), rtol=1e-4)


def test_padding_mask_reaches_attention(float64, rng):
    model = transformer(positions=False, mask_zero=True)
    x = rng.integers(1, 30, size=(2, 7)).astype("int32")
    x[:, 5:] = 0
    r = innvestigate.create_analyzer("lrp.epsilon", model).analyze(x)
    # Padding keys are never attended to, but the padding queries still flow to the output
    # through GlobalAveragePooling1D's mask (which ignores them): no relevance on padding.
    np.testing.assert_allclose(r[:, 5:], 0.0, atol=1e-12)
    assert np.abs(r[:, :5]).sum() > 0


# -- gates, merges, element-wise non-linearities ---------------------------------------------------


def test_multiply_gate_takes_no_relevance(float64, rng):
    inp = keras.Input((4,))
    gate = keras.layers.Dense(4, activation="sigmoid")(inp)
    signal = keras.layers.Dense(4, activation="tanh")(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Multiply()([signal, gate])))
    x = rng.normal(size=(3, 4))
    a = innvestigate.create_analyzer("lrp.z", model)
    _, per_layer = a.analyze_with_intermediates(x)
    multiply = next(k for k in per_layer if k.startswith("multiply"))
    r_signal, r_gate = per_layer[multiply]
    assert np.all(r_gate == 0) and np.abs(r_signal).sum() > 0


def test_merges_use_the_z_rule_whatever_the_analyzer_epsilon(float64, rng):
    inp = keras.Input((4,))
    a = keras.layers.Dense(4, name="a")(inp)
    b = keras.layers.Dense(4, name="b")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, name="out")(keras.layers.Add()([a, b])))
    randomize_biases(model, rng)
    x = rng.normal(size=(2, 4))
    eps = 0.1
    wa, ba = [keras.ops.convert_to_numpy(w) for w in model.get_layer("a").weights]
    wb, bb = [keras.ops.convert_to_numpy(w) for w in model.get_layer("b").weights]
    wo, bo = [keras.ops.convert_to_numpy(w) for w in model.get_layer("out").weights]
    za, zb = x @ wa + ba, x @ wb + bb
    s = za + zb
    y = s @ wo + bo
    sel = y.argmax(1)
    r_y = np.zeros_like(y)
    r_y[np.arange(2), sel] = y[np.arange(2), sel]
    r_s = s * (div(r_y, y, eps) @ wo.T)

    def expected(merge_eps):
        r_a, r_b = za * div(r_s, s, merge_eps), zb * div(r_s, s, merge_eps)
        return x * (div(r_a, za, eps) @ wa.T) + x * (div(r_b, zb, eps) @ wb.T)

    got = innvestigate.create_analyzer("lrp.epsilon", model, epsilon=eps).analyze(x)
    np.testing.assert_allclose(got, expected(TINY), rtol=RTOL)
    old = innvestigate.create_analyzer(
        "lrp.epsilon", model, epsilon=eps, merge_layer_rule="analyzer"
    ).analyze(x)
    np.testing.assert_allclose(old, expected(eps), rtol=RTOL)


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh", "sigmoid", "softplus", "elu"])
def test_elementwise_nonlinearities_pass_relevance_unchanged(float64, rng, activation):
    inp = keras.Input((4,))
    h = keras.layers.Dense(5, activation=activation, use_bias=False, name="h")(inp)
    model = keras.Model(inp, keras.layers.Dense(2, use_bias=False, name="o")(h))
    x = rng.normal(size=(3, 4))
    wh = keras.ops.convert_to_numpy(model.get_layer("h").kernel)
    wo = keras.ops.convert_to_numpy(model.get_layer("o").kernel)
    pre = x @ wh
    act = keras.ops.convert_to_numpy(model.get_layer("h")(x))
    y = act @ wo
    sel = y.argmax(1)
    r_y = np.zeros_like(y)
    r_y[np.arange(3), sel] = y[np.arange(3), sel]
    r_act = act * (safe(r_y, y) @ wo.T)
    expected = x * (safe(r_act, pre) @ wh.T)  # identity through the activation
    got = innvestigate.create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(got.sum(1), y.max(1), rtol=RTOL)


def test_deep_taylor_still_refuses_transformers():
    with pytest.raises(NotAnalyzeableModelException):
        innvestigate.create_analyzer("deep_taylor", transformer(positions=False))


# -- bad input ---------------------------------------------------------------------------------------


def test_float_input_feeding_an_embedding_is_refused():
    inp = keras.Input((5,))
    model = keras.Model(
        inp,
        keras.layers.Dense(2)(
            keras.layers.Flatten()(keras.layers.Embedding(10, 3, name="emb")(inp))
        ),
    )
    with pytest.raises(NotAnalyzeableModelException, match=r"emb.*dtype='int32'"):
        innvestigate.create_analyzer("lrp.epsilon", model)


def test_token_ids_must_be_integers_in_the_vocabulary(rng):
    model = transformer(positions=False)
    a = innvestigate.create_analyzer("lrp.epsilon", model)
    with pytest.raises(TypeError, match="integer token ids"):
        a.analyze(rng.normal(size=(2, 7)))
    with pytest.raises(ValueError, match=r"\[0, 30\)"):
        a.analyze(np.full((2, 7), 30, dtype="int32"))


def test_unknown_layer_is_named():
    class Custom(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(Custom(name="my_custom")(inp)))
    with pytest.raises(NotAnalyzeableModelException, match="my_custom"):
        innvestigate.create_analyzer("lrp.epsilon", model)


def test_unsupported_attention_options_are_refused():
    inp = keras.Input((4, 6))
    h = keras.layers.MultiHeadAttention(2, 3, attention_axes=(1,))(inp, inp)
    ok = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
    innvestigate.create_analyzer("lrp.epsilon", ok).analyze(np.ones((1, 4, 6), "float32"))
    q = keras.Input((4, 6))
    h = keras.layers.Attention(score_mode="concat")([q, q])
    model = keras.Model(q, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
    with pytest.raises(NotAnalyzeableModelException, match="score_mode"):
        attention.check_supported(model.layers[1])


# -- masks inside attention -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lrp.epsilon", "lrp.attnlrp"])
def test_causal_mask_keeps_relevance_off_future_tokens(rng, name):
    inp = keras.Input((6, 4))
    h = keras.layers.MultiHeadAttention(2, 2)(inp, inp, use_causal_mask=True)
    first = h[:, 1, :]  # a keras.ops slice in the functional graph
    model = keras.Model(inp, keras.layers.Dense(2)(first))
    x = rng.normal(size=(2, 6, 4)).astype("float32")
    r = innvestigate.create_analyzer(name, model).analyze(x)
    # Query 1 attends to keys 0 and 1 only; with the AH-rule relevance reaches the values there.
    assert np.all(r[:, 2:] == 0)
    assert np.abs(r[:, :2]).sum() > 0


def test_attention_mask_input_is_applied(rng):
    inp = keras.Input((5, 4))
    allowed = keras.Input((5, 5), dtype="bool")
    h = keras.layers.MultiHeadAttention(1, 4)(inp, inp, attention_mask=allowed)
    model = keras.Model([inp, allowed], keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    mask = np.ones((2, 5, 5), bool)
    mask[:, :, 3] = False  # no query may attend to key 3
    r, r_mask = innvestigate.create_analyzer("lrp.epsilon", model).analyze([x, mask])
    assert np.all(r[:, 3] == 0) and np.abs(r[:, [0, 1, 2, 4]]).sum() > 0
    assert r_mask.shape == mask.shape and np.all(r_mask == 0)


def test_keras_attention_layer_ah_rule_matches_numpy(float64, rng):
    q_in, v_in = keras.Input((3, 4)), keras.Input((5, 4))
    h = keras.layers.Attention()([q_in, v_in])
    model = keras.Model([q_in, v_in], keras.layers.Dense(2, name="head")(keras.layers.Flatten()(h)))
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    a = softmax(q @ v.transpose(0, 2, 1))
    out = a @ v
    w, b = [keras.ops.convert_to_numpy(t) for t in model.get_layer("head").weights]
    logits = out.reshape(2, -1) @ w + b
    sel = logits.argmax(1)
    r_logits = np.zeros_like(logits)
    r_logits[np.arange(2), sel] = logits[np.arange(2), sel]
    r_out = (out.reshape(2, -1) * (div(r_logits, logits, 0.0) @ w.T)).reshape(out.shape)
    expected_v = v * np.einsum("bts,btd->bsd", a, div(r_out, out, TINY))
    r_q, r_v = innvestigate.create_analyzer("lrp.z", model).analyze([q, v])
    np.testing.assert_allclose(r_v, expected_v, rtol=RTOL, atol=1e-12)
    assert np.all(r_q == 0)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="import behaviour, one backend suffices"
)
def test_a_broken_analyzer_module_fails_the_import():
    import subprocess
    import sys

    code = "import sys; sys.modules['innvestigate.analyzer.pattern'] = None; import innvestigate"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and "innvestigate.analyzer.pattern" in proc.stderr.splitlines()[-1]


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_lrp_z_conserves_the_logit_on_a_bias_free_recurrent_net(float64, rng, cell):
    tokens = keras.Input((9,), dtype="int32")
    h = keras.layers.Embedding(20, 6, mask_zero=True)(tokens)
    h = getattr(keras.layers, cell)(5, use_bias=False, return_sequences=True)(h)
    out = keras.layers.Dense(3, use_bias=False)(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(tokens, out)
    x = rng.integers(1, 20, size=(4, 9)).astype("int32")
    x[:, 7:] = 0  # padding
    r = innvestigate.create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(r.sum(1), keras.ops.convert_to_numpy(model(x)).max(1), rtol=1e-4)
    assert np.all(r[:, 7:] == 0)


def test_masking_layer_and_time_distributed_in_the_default_rules(float64, rng):
    inp = keras.Input((6, 3))
    h = keras.layers.Masking()(inp)
    h = keras.layers.GRU(4, return_sequences=True, use_bias=False)(h)
    h = keras.layers.TimeDistributed(keras.layers.Dense(2, activation="relu", use_bias=False))(h)
    model = keras.Model(
        inp, keras.layers.Dense(2, use_bias=False)(keras.layers.GlobalAveragePooling1D()(h))
    )
    x = rng.normal(size=(2, 6, 3))
    x[:, 4:] = 0  # masked steps
    r = innvestigate.create_analyzer("lrp.z", model).analyze(x)
    np.testing.assert_allclose(
        r.sum((1, 2)), keras.ops.convert_to_numpy(model(x)).max(1), rtol=1e-6
    )
    assert np.all(r[:, 4:] == 0)
    r = innvestigate.create_analyzer("lrp.alpha_2_beta_1", model).analyze(x)
    assert np.all(r[:, 4:] == 0) and np.isfinite(r).all()
