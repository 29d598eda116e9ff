"""The LN-rule: LRP through LayerNormalization, GroupNormalization and RMSNormalization.

A normalization layer computes ``y = (x − μ(x)) · γ / σ(x) + β`` (no centring for RMS
normalization). Following Ali et al. (ICML 2022, "XAI for Transformers: Better
Explanations through Conservative Propagation", the LN-rule) the normalising statistic
``σ(x)`` is held constant in the backward pass. What remains is linear in ``x``, the
centring ``x − μ(x)`` included (as in Ali et al. and LXT, which detach only ``σ``), so
relevance is redistributed by the ε/z-rule of that linear map,

    ``R_x = x ⊙ Jᵀ (R_y / (y + ε sign y))``,  ``J = ∂[(x − μ(x)) γ / σ]/∂x`` at fixed ``σ``,

and is conserved (``Σ R_x = Σ R_y``) when the layer has no shift ``β``.

Examples
--------
>>> import numpy as np, keras, innvestigate
>>> inp = keras.Input((4,))
>>> out = keras.layers.Dense(1, use_bias=False)(keras.layers.LayerNormalization(center=False)(inp))
>>> a = innvestigate.create_analyzer("lrp.z", keras.Model(inp, out))
>>> x = np.array([[1.0, 2.0, 0.5, -1.0]], "float32")
>>> bool(np.isclose(a.analyze(x).sum(), keras.Model(inp, out)(x).numpy().sum(), rtol=1e-4))
True
"""

from __future__ import annotations

import keras
from keras import ops

from innvestigate import backend
from innvestigate.analyzer.lrp.rules import RULES, Rule, _divide_stabilized
from innvestigate.exceptions import NotAnalyzeableModelException

__all__ = ["NORMALIZATION_LAYERS", "is_normalization_layer", "LayerNormRule"]

NORMALIZATION_LAYERS = tuple(
    getattr(keras.layers, name)
    for name in ("LayerNormalization", "GroupNormalization", "RMSNormalization")
    if hasattr(keras.layers, name)
)


def is_normalization_layer(layer) -> bool:
    """LayerNormalization, GroupNormalization or RMSNormalization (per-sample statistics)."""
    return isinstance(layer, NORMALIZATION_LAYERS)


def _axes(axis, ndim):
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axes)


def _broadcast(weight, x, axes):
    """A weight over ``axes`` shaped to broadcast against ``x``."""
    shape = [1] * len(x.shape)
    for a in axes:
        shape[a] = x.shape[a]
    return ops.reshape(ops.cast(weight, x.dtype), shape)


def _frozen_linear_map(layer, x):
    """``a ↦ (a − μ(a)) γ / σ(x)`` with ``σ`` taken at ``x`` and held fixed (no ``β``)."""
    ndim = len(x.shape)
    if isinstance(layer, keras.layers.LayerNormalization):
        axes = _axes(layer.axis, ndim)
        gamma = _broadcast(layer.gamma, x, axes) if layer.scale else None
        if layer.rms_scaling:
            inv = ops.rsqrt(ops.mean(ops.square(x), axis=axes, keepdims=True) + layer.epsilon)
            center = False
        else:
            inv = ops.rsqrt(ops.var(x, axis=axes, keepdims=True) + layer.epsilon)
            center = True
        inv = ops.stop_gradient(inv)

        def linear(a):
            c = a - ops.mean(a, axis=axes, keepdims=True) if center else a
            y = c * inv
            return [y * gamma if gamma is not None else y]

        return linear
    if hasattr(keras.layers, "RMSNormalization") and isinstance(
        layer, keras.layers.RMSNormalization
    ):
        axes = _axes(layer.axis, ndim)
        scale = _broadcast(layer.scale, x, axes)
        inv = ops.stop_gradient(
            ops.rsqrt(ops.mean(ops.square(x), axis=axes, keepdims=True) + layer.epsilon)
        )
        return lambda a: [a * inv * scale]
    if isinstance(layer, keras.layers.GroupNormalization):
        axis = layer.axis % ndim
        channels = x.shape[axis]
        groups = layer.groups
        # (..., C, ...) -> (..., G, C/G, ...): statistics over every axis but batch and group.
        group_shape = (
            [-1] + list(x.shape[1:axis]) + [groups, channels // groups] + list(x.shape[axis + 1 :])
        )
        reduce = [i for i in range(1, len(group_shape)) if i != axis]
        xg = ops.reshape(x, group_shape)
        inv = ops.stop_gradient(ops.rsqrt(ops.var(xg, axis=reduce, keepdims=True) + layer.epsilon))
        gamma = _broadcast(layer.gamma, x, [axis]) if layer.scale else None

        def linear(a):
            ag = ops.reshape(a, group_shape)
            y = ops.reshape((ag - ops.mean(ag, axis=reduce, keepdims=True)) * inv, ops.shape(a))
            return [y * gamma if gamma is not None else y]

        return linear
    raise NotAnalyzeableModelException(
        "LRP", [layer.name], f"{type(layer).__name__} is not a normalization layer"
    )


class LayerNormRule(Rule):
    """The LN-rule of Ali et al. (2022) for LayerNormalization, GroupNormalization and
    RMSNormalization: σ held constant, the ε/z-rule through the remaining linear map.

    Parameters
    ----------
    epsilon : float
        Stabiliser of the division by the layer output; 0 gives the z-rule (0 where the
        output is 0). The default is the tiny stabiliser LRP uses for parameter-free
        linear layers, as Zennit and LXT do.
    """

    def __init__(self, epsilon: float = 1e-7):
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)

    def get_config(self):
        return {"epsilon": self.epsilon}

    def __call__(self, inputs, outputs, reversed_outputs, state):
        x, y, r = inputs[0], outputs[0], reversed_outputs[0]
        # The layer's own output y includes β: the shift keeps its share of the relevance.
        s = _divide_stabilized(r, ops.cast(y, x.dtype), self.epsilon)
        _, vjp = backend.get().forward_with_vjp(_frozen_linear_map(state.layer, x), [x])
        return [x * vjp([s])[0]]


RULES["LayerNorm"] = LayerNormRule
