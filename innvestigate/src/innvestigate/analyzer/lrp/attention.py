"""LRP through attention: the AH-rule (conservative propagation) and AttnLRP.

``MultiHeadAttention`` computes, per head, ``A = softmax(q kᵀ / √d_k)`` from the projected
query and key, mixes the projected values ``ctx = A v`` and projects ``ctx`` to the output.
The rule recomputes these steps from the layer's sub-layers (``query_dense``, ``key_dense``,
``value_dense``, ``output_dense``) and propagates relevance through each:

* **AH-rule** (Ali et al., ICML 2022), the default of every LRP analyzer: the attention
  weights ``A`` are held constant, so the layer is linear in its value input. Relevance
  flows through the output projection (the analyzer's rule for Dense-type layers), the
  mixing ``ctx = A v`` (the z-rule with a tiny stabiliser, a parameter-free linear map) and
  the value projection; the query and key receive none. Conservative up to biases.
* **AttnLRP** (Achtibat et al., ICML 2024; the LXT package): the products ``A v`` and
  ``q kᵀ`` are bilinear and get the *uniform* rule (each factor receives half of the
  ε-rule relevance, ``R_a = a ⊙ Jₐᵀ(R / 2y)``), and the softmax gets its rule
  ``R_s = s ⊙ (R_A − A Σ R_A)`` (a Taylor decomposition at the scores), so that the query
  and key paths receive relevance too. ε on the linear parts.

``keras.layers.Attention`` (dot-product scores, no projections) is handled the same way.

Examples
--------
>>> import numpy as np, keras, innvestigate
>>> inp = keras.Input((5, 8))
>>> h = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(inp, inp)
>>> out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling1D()(h))
>>> model = keras.Model(inp, out)
>>> x = np.random.default_rng(0).normal(size=(1, 5, 8)).astype("float32")
>>> innvestigate.create_analyzer("lrp.attnlrp", model).analyze(x).shape
(1, 5, 8)
"""

from __future__ import annotations

import math

import keras
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.lrp.rules import RULES, EpsilonRule, Rule, _divide_stabilized, get_rule
from innvestigate.engine.reverse import ReverseState
from innvestigate.exceptions import NotAnalyzeableModelException

__all__ = [
    "ATTENTION_LAYERS",
    "is_attention_layer",
    "AttentionRule",
    "AttentionHeadRule",
    "AttnLRPAttentionRule",
    "softmax_relevance",
    "bilinear_relevance",
]

ATTENTION_LAYERS = (keras.layers.MultiHeadAttention, keras.layers.Attention)

# Stabiliser of the parameter-free steps (mixing, products, softmax): the tiny one LRP
# uses for merges and pooling.
_TINY = 1e-7


def is_attention_layer(layer) -> bool:
    return isinstance(layer, ATTENTION_LAYERS)


def _refuse(layer, what):
    raise NotAnalyzeableModelException(
        "LRP",
        [layer.name],
        f"{type(layer).__name__} {layer.name!r} uses {what}, which the attention rules do not support; "
        "use a gradient-based analyzer ('gradient', 'integrated_gradients') for this model",
    )


def check_supported(layer):
    """Raises NotAnalyzeableModelException for attention configurations the rules cannot reproduce."""
    if isinstance(layer, keras.layers.MultiHeadAttention):
        config = layer.get_config()
        if config.get("attention_axes") not in (None, (1,), [1], 1):
            _refuse(layer, f"attention_axes={config.get('attention_axes')}")
        if config.get("use_gate"):
            _refuse(layer, "use_gate=True")
        if config.get("sliding_window") is not None:
            _refuse(layer, "a sliding window")
    elif isinstance(layer, keras.layers.Attention) and layer.score_mode != "dot":
        _refuse(layer, f"score_mode={layer.score_mode!r}")


# -- the two rules of AttnLRP for non-linear steps, usable on their own ----------------------------


def bilinear_relevance(fn, a, b, relevance, epsilon=_TINY):
    """The uniform rule for ``y = fn(a, b)`` bilinear: ``R_a = a ⊙ Jₐᵀ s``, ``R_b = b ⊙ J_bᵀ s``
    with ``s = R / (2y)`` (stabilised); ``Σ R_a + Σ R_b = Σ R`` up to the stabiliser."""
    (y,), vjp = backend.get().forward_with_vjp(lambda p, q: [fn(p, q)], [a, b])
    ga, gb = vjp([_divide_stabilized(relevance, 2.0 * y, epsilon)])
    return a * ga, b * gb


def softmax_relevance(scores, weights, relevance, mask=None):
    """AttnLRP's softmax rule: ``R_s = s ⊙ (R_A − A Σ_j R_A)`` over the last axis.

    ``scores`` are the logits before masking; masked positions (``mask`` False) get none.
    """
    r = scores * (relevance - weights * ops.sum(relevance, axis=-1, keepdims=True))
    if mask is not None:
        r = ops.where(mask, r, ops.zeros_like(r))
    return r


# -- recomputing a layer's attention -----------------------------------------------------------------


def _call(layer, x):
    """``layer(x)`` for a projection sub-layer, without ``__call__``'s mask bookkeeping (the
    input may carry the padding mask, which a projection ignores)."""
    from innvestigate.engine.graph import _direct_call

    ys = _direct_call(layer, x)
    return ys[0] if ys is not None else layer(x)


def _sublayer_relevance(rule, layer, x, relevance):
    """``rule`` (a Dense-type rule) applied to the Dense/EinsumDense sub-layer ``layer`` at ``x``."""
    from innvestigate.engine.graph import GraphNode

    node = GraphNode(layer, ["x"], ["y"], lambda a: [_call(layer, a)])
    (z,), vjp = backend.get().forward_with_vjp(node, [x])
    state = ReverseState(node, None, vjp)
    return rule.kernel_rule(x, z, relevance, state)[0]


class _Bound:
    """The tensors of one attention call: query, value, key, masks, options."""

    def __init__(self, inputs, state):
        layer = state.layer
        args, kwargs = state.node.bind(inputs)
        masks = {id(x): m for x, m in zip(inputs, state.input_masks)}
        self.layer = layer
        if isinstance(layer, keras.layers.Attention):
            seq = args[0] if args else kwargs["inputs"]
            self.query, self.value = seq[0], seq[1]
            self.key = seq[2] if len(seq) > 2 else self.value
            explicit = kwargs.get("mask")  # [query_mask, value_mask], else the tensors' masks
            if explicit is not None:
                self.query_mask, self.value_mask = (list(explicit) + [None, None])[:2]
            else:
                self.query_mask, self.value_mask = (
                    masks.get(id(self.query)),
                    masks.get(id(self.value)),
                )
            self.key_mask = None
            self.attention_mask = None
        else:
            names = ["query", "value", "key"]
            bound = dict(zip(names, args))
            bound.update({k: v for k, v in kwargs.items() if k in names})
            self.query, self.value = bound["query"], bound["value"]
            self.key = bound.get("key") if bound.get("key") is not None else self.value
            self.query_mask = (
                kwargs.get("query_mask")
                if kwargs.get("query_mask") is not None
                else masks.get(id(self.query))
            )
            self.value_mask = (
                kwargs.get("value_mask")
                if kwargs.get("value_mask") is not None
                else masks.get(id(self.value))
            )
            key_given = bound.get("key") is not None
            self.key_mask = (
                kwargs.get("key_mask")
                if kwargs.get("key_mask") is not None
                else (masks.get(id(self.key)) if key_given else None)
            )
            self.attention_mask = kwargs.get("attention_mask")
        self.causal = bool(kwargs.get("use_causal_mask", False))
        if kwargs.get("return_attention_scores"):
            _refuse(layer, "return_attention_scores=True")
        self.inputs = inputs

    def relevance_per_input(self, named):
        """Sums ``{"query": R, "value": R, "key": R}`` onto the layer's unique input tensors."""
        out = []
        for x in self.inputs:
            total = None
            for name, r in named.items():
                if r is not None and getattr(self, name) is x:
                    total = r if total is None else total + r
            out.append(ops.zeros_like(x) if total is None else total)
        return out


def _attention_mask(b, t, s):
    """Boolean (B|1, T, S) mask of allowed query–key pairs, or None."""
    mask = None

    def both(m, new):
        return new if m is None else ops.logical_and(m, new)

    if b.query_mask is not None:
        mask = both(mask, ops.expand_dims(ops.cast(b.query_mask, "bool"), -1))
    if b.value_mask is not None:
        mask = both(mask, ops.expand_dims(ops.cast(b.value_mask, "bool"), -2))
    if b.key_mask is not None:
        mask = both(mask, ops.expand_dims(ops.cast(b.key_mask, "bool"), -2))
    if b.causal:
        rows = ops.expand_dims(ops.arange(t), -1)
        cols = ops.expand_dims(ops.arange(s), 0)
        mask = both(mask, ops.expand_dims(ops.greater_equal(rows, cols), 0))
    if b.attention_mask is not None:
        mask = both(mask, ops.cast(b.attention_mask, "bool"))
    return mask


def _masked_softmax(scores, mask, zero_masked_rows):
    if mask is None:
        return ops.softmax(scores, axis=-1)
    large_negative = (
        -1e9 if keras.backend.standardize_dtype(scores.dtype) != "float16" else -65504.0
    )
    weights = ops.softmax(ops.where(mask, scores, ops.cast(large_negative, scores.dtype)), axis=-1)
    return ops.where(mask, weights, ops.zeros_like(weights)) if zero_masked_rows else weights


class AttentionRule(Rule):
    """Base of the attention rules: recomputes the layer's attention, then ``_backward``.

    Parameters
    ----------
    linear_rule : Rule, rule class or name
        The rule for the query/key/value/output projections (Dense-type sub-layers).
    """

    def __init__(self, linear_rule=None):
        if isinstance(linear_rule, dict):  # as stored by get_config
            linear_rule = RULES[linear_rule["rule"]](**linear_rule["config"])
        self.linear_rule = get_rule(linear_rule) if linear_rule is not None else EpsilonRule()

    def get_config(self):
        rule = self.linear_rule
        names = {cls: name for name, cls in RULES.items()}
        return {
            "linear_rule": {
                "rule": names.get(type(rule), type(rule).__name__),
                "config": rule.get_config(),
            }
        }

    def __call__(self, inputs, outputs, reversed_outputs, state):
        layer = state.layer
        check_supported(layer)
        b = _Bound(inputs, state)
        r = reversed_outputs[0]
        if isinstance(layer, keras.layers.MultiHeadAttention):
            named = self._multi_head(b, r)
        else:
            named = self._dot_product(b, r)
        return b.relevance_per_input(named)

    # Each returns relevance for the keys "query", "value", "key".
    def _multi_head(self, b, r):
        layer = b.layer
        q_in, k_in, v_in = b.query, b.key, b.value
        q = _call(layer.query_dense, q_in)  # (B, T, N, H)
        k = _call(layer.key_dense, k_in)  # (B, S, N, H)
        v = _call(layer.value_dense, v_in)  # (B, S, N, H)
        scale = ops.cast(1.0 / math.sqrt(float(layer.key_dim)), q.dtype)
        qs = q * scale
        score_fn = lambda qq, kk: ops.einsum("aecd,abcd->acbe", kk, qq)  # noqa: E731 - (B, N, T, S)
        scores = score_fn(qs, k)
        mask = _attention_mask(
            b,
            q.shape[1] if q.shape[1] is not None else ops.shape(q)[1],
            k.shape[1] if k.shape[1] is not None else ops.shape(k)[1],
        )
        if mask is not None:
            mask = ops.expand_dims(mask, 1)  # the heads axis
        # Without dropout Keras runs ops.dot_product_attention, which leaves fully masked
        # rows uniform; with dropout, its Softmax layer zeroes them.
        weights = _masked_softmax(
            scores, mask, zero_masked_rows=layer.get_config().get("dropout", 0.0) > 0
        )
        mix = lambda aa, vv: ops.einsum("acbe,aecd->abcd", aa, vv)  # noqa: E731 - (B, T, N, H)
        ctx = mix(weights, v)
        r_ctx = _sublayer_relevance(self.linear_rule, layer.output_dense, ctx, r)
        parts = self._backward(weights, v, ctx, r_ctx, scores, mask, mix, qs, k, score_fn)
        r_value = _sublayer_relevance(self.linear_rule, layer.value_dense, v_in, parts["v"])
        r_query = r_key = None
        if parts.get("q") is not None:
            r_query = _sublayer_relevance(self.linear_rule, layer.query_dense, q_in, parts["q"])
            r_key = _sublayer_relevance(self.linear_rule, layer.key_dense, k_in, parts["k"])
        return {"query": r_query, "value": r_value, "key": r_key}

    def _dot_product(self, b, r):
        layer = b.layer
        q, k, v = b.query, b.key, b.value
        scale = layer.scale if layer.use_scale else None

        def score_fn(qq, kk):
            # A learned scale multiplies the scores: a constant factor, relevance passes through it.
            scores = ops.matmul(qq, ops.swapaxes(kk, -2, -1))
            return scores if scale is None else scores * ops.cast(scale, scores.dtype)

        scores = score_fn(q, k)
        t, s = scores.shape[-2], scores.shape[-1]
        qm, b.query_mask = b.query_mask, None  # Keras zeroes masked query rows of the output
        mask = _attention_mask(
            b,
            t if t is not None else ops.shape(scores)[-2],
            s if s is not None else ops.shape(scores)[-1],
        )
        weights = _masked_softmax(scores, mask, zero_masked_rows=False)
        mix = ops.matmul
        ctx = mix(weights, v)
        if qm is not None:
            keep = ops.expand_dims(ops.cast(qm, "bool"), -1)
            r = ops.where(keep, r, ops.zeros_like(r))
        parts = self._backward(weights, v, ctx, r, scores, mask, mix, q, k, score_fn)
        return {"query": parts.get("q"), "value": parts["v"], "key": parts.get("k")}

    def _backward(
        self, weights, v, ctx, r_ctx, scores, mask, mix, q, k, score_fn
    ):  # pragma: no cover
        raise NotImplementedError


class AttentionHeadRule(AttentionRule):
    """The AH-rule (Ali et al., 2022): attention weights held constant; the value path
    carries all relevance (z-rule with a tiny stabiliser through ``A v``)."""

    def _backward(self, weights, v, ctx, r_ctx, scores, mask, mix, q, k, score_fn):
        weights = ops.stop_gradient(weights)
        (_,), vjp = backend.get().forward_with_vjp(lambda vv: [mix(weights, vv)], [v])
        r_v = v * vjp([_divide_stabilized(r_ctx, ctx, _TINY)])[0]
        return {"v": r_v}


class AttnLRPAttentionRule(AttentionRule):
    """AttnLRP (Achtibat et al., 2024): uniform rule on ``A v`` and ``q kᵀ``, the softmax
    rule in between, ε on the projections: query and key receive relevance too."""

    def _backward(self, weights, v, ctx, r_ctx, scores, mask, mix, q, k, score_fn):
        r_weights, r_v = bilinear_relevance(mix, weights, v, r_ctx)
        r_scores = softmax_relevance(scores, weights, r_weights, mask)
        r_q, r_k = bilinear_relevance(score_fn, q, k, r_scores)
        return {"v": r_v, "q": r_q, "k": r_k}


RULES.update({"AttentionHead": AttentionHeadRule, "AttnLRPAttention": AttnLRPAttentionRule})
