"""LRP and Deep Taylor rules: how relevance flows back through one layer.

A rule is a small object called like a mapping, ``rule(inputs, outputs, reversed_outputs,
state)``, returning the relevance of the layer's inputs. Rules do the arithmetic of one
equation and know nothing about models; the engine walks the graph and composites choose
the rule per layer. Products with transposed (modified) weights are taken as
vector–Jacobian products of the layer's linear map with substituted kernels (thesis
§3.2.2, "z_rule_mapping_all"), so every rule works for Dense and all convolutions.

Notation: ``x`` input, ``W`` kernel, ``b`` bias, ``z = xW + b`` the pre-activation,
``R`` the relevance of the outputs, ``W⁺ = max(W, 0)``, ``W⁻ = min(W, 0)``.

Examples
--------
>>> import numpy as np, keras, innvestigate
>>> from innvestigate.analyzer.lrp import rules
>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
>>> a = innvestigate.create_analyzer("lrp", model, rule=rules.EpsilonRule(epsilon=0.01))
>>> a.analyze(np.ones((1, 3), "float32")).shape
(1, 3)
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from innvestigate import backend
from innvestigate.engine import batchnorm

__all__ = [
    "Rule",
    "GradientRule",
    "PassRule",
    "ZRule",
    "EpsilonRule",
    "WSquareRule",
    "FlatRule",
    "AlphaBetaRule",
    "Alpha2Beta1Rule",
    "Alpha1Beta0Rule",
    "ZPlusRule",
    "ZPlusFastRule",
    "GammaRule",
    "BoundedRule",
    "BatchNormEpsilonRule",
    "BatchNormTwoLinearRule",
    "BatchNormAlphaBetaRule",
    "RULES",
    "get_rule",
]


def _dtype(t):
    return keras.backend.standardize_dtype(t.dtype)


def _scalar(value, like):
    return ops.convert_to_tensor(value, dtype=_dtype(like))


def safe_divide(a, b):
    """``a / b`` with 0 where ``b`` is 0."""
    # Scalar branches of ``where`` broadcast: no zeros_like / ones_like tensors are made.
    zero = ops.equal(b, 0)
    return ops.where(zero, _scalar(0, a), a / ops.where(zero, _scalar(1, b), b))


def stabilize(z, epsilon):
    """``z + ε·sign(z)`` with sign(0) = 1 (Eq. II.33)."""
    eps = _scalar(epsilon, z)
    return z + ops.where(ops.greater_equal(z, 0), eps, -eps)


def _divide_stabilized(r, z, epsilon):
    """``safe_divide(r, stabilize(z, ε))``, without the zero test where it cannot trigger.

    For ε > 0 (in the dtype of ``z``) the stabilised denominator is ≥ ε or ≤ −ε, never 0,
    so the plain quotient is the same number (one elementwise pass instead of four).
    """
    den = stabilize(z, epsilon)
    if np.asarray(epsilon, dtype=_dtype(z)) > 0:
        return r / den
    return safe_divide(r, den)


def _positive(t):
    return ops.maximum(t, 0)


def _negative(t):
    return ops.minimum(t, 0)


def _linear_vjp(node, x, kernels, bias=None):
    """Forward ``z = linear(x; kernels[, bias])`` and its VJP with respect to ``x``."""
    use_bias = bias is not None

    def fn(a):
        return node.linear([a], kernels=kernels, bias=bias, use_bias=use_bias)

    (z,), vjp = backend.get().forward_with_vjp(fn, [x])
    return z, (lambda s: vjp([s])[0])


class Rule:
    """Base class: a rule for Dense/Conv layers (nodes with a kernel).

    For layers without a kernel that are linear in their inputs (Add, average pooling,
    ...), the default is the Z/epsilon rule through the layer's gradient, which is what
    every rule below reduces to there.
    """

    def __call__(self, inputs, outputs, reversed_outputs, state):
        if state.node.has_kernel:
            return self.kernel_rule(inputs[0], outputs[0], reversed_outputs[0], state)
        return EpsilonRule.through_gradient(
            inputs, outputs, reversed_outputs, state, self._linear_epsilon()
        )

    def _linear_epsilon(self):
        return getattr(self, "epsilon", 1e-7)

    def kernel_rule(self, x, z, relevance, state):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class GradientRule(Rule):
    """Plain back-propagation (max pooling, reshaping layers)."""

    def __call__(self, inputs, outputs, reversed_outputs, state):
        return state.gradient(reversed_outputs)


class PassRule(Rule):
    """Relevance passes unchanged (element-wise activations, input scaling)."""

    def __call__(self, inputs, outputs, reversed_outputs, state):
        if len(inputs) != 1 or len(reversed_outputs) != 1:
            raise ValueError(
                f"PassRule needs a layer with one input and one output ({state.layer.name})."
            )
        return [reversed_outputs[0]]


class EpsilonRule(Rule):
    """LRP-ε (Eq. II.33): ``R_i = Σ_j x_i w_ij / (z_j + ε sign(z_j)) R_j``.

    Parameters
    ----------
    epsilon : float
        The stabiliser ε ≥ 0.
    bias : bool
        Whether ``z`` includes the bias (False: the "_IB", ignore-bias, variant).
    """

    def __init__(self, epsilon: float = 1e-7, bias: bool = True):
        if not np.isfinite(epsilon) or epsilon < 0:
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.bias = bool(bias)

    def get_config(self):
        return {"epsilon": self.epsilon, "bias": self.bias}

    @staticmethod
    def through_gradient(inputs, outputs, reversed_outputs, state, epsilon):
        # For a bias-free linear layer, x ⊙ ∂z/∂x^T s = Σ_j x_i w_ij s_j.
        s = [_divide_stabilized(r, z, epsilon) for r, z in zip(reversed_outputs, outputs)]
        grads = state.gradient(s)
        return [x * g for x, g in zip(inputs, grads)]

    def _divide(self, relevance, z):
        return _divide_stabilized(relevance, z, self.epsilon)

    def kernel_rule(self, x, z, relevance, state):
        if not self.bias:
            z = state.node.linear([x], use_bias=False)[0]
        s = self._divide(relevance, z)
        # The recorded VJP of the node's linear map is W^T s, whatever the bias.
        return [x * state.gradient([s])[0]]


class ZRule(EpsilonRule):
    """LRP-Z (Eqs. II.31/II.32): ``R_i = Σ_j x_i w_ij / z_j R_j`` (0 where ``z_j = 0``)."""

    def __init__(self, bias: bool = True):
        super().__init__(epsilon=0.0, bias=bias)

    def get_config(self):
        return {"bias": self.bias}

    def _divide(self, relevance, z):
        return safe_divide(relevance, z)


class WSquareRule(Rule):
    """Deep Taylor W²-rule (Eq. II.35): ``R_i = Σ_j w_ij² / Σ_i w_ij² R_j``."""

    def kernel_rule(self, x, z, relevance, state):
        kernels, _ = state.node.weights()
        squared = [ops.square(k) for k in kernels]
        z, vjp = _linear_vjp(state.node, ops.ones_like(x), squared)
        return [vjp(safe_divide(relevance, z))]


class FlatRule(Rule):
    """Flat rule: like W² with all weights 1, ``R_i = Σ_j R_j / |{i → j}|``."""

    def kernel_rule(self, x, z, relevance, state):
        kernels, _ = state.node.weights()
        ones = [ops.ones_like(k) for k in kernels]
        z, vjp = _linear_vjp(state.node, ops.ones_like(x), ones)
        return [vjp(safe_divide(relevance, z))]


class AlphaBetaRule(Rule):
    """LRP-αβ (Eq. II.34), positive and negative contributions weighted by α and β.

    ``R_i = Σ_j (α (x_i w_ij)⁺ / z_j⁺ − β (x_i w_ij)⁻ / z_j⁻) R_j`` with
    ``z_j⁺ = Σ_i (x_i w_ij)⁺ + b_j⁺`` and ``z_j⁻ = Σ_i (x_i w_ij)⁻ + b_j⁻`` (the bias
    counted once, in the part of its sign; omitted when ``bias`` is False).

    Parameters
    ----------
    alpha, beta : float
        With ``α − β = 1`` relevance is conserved (for bias-free layers).
    bias : bool
    """

    def __init__(self, alpha: float = 2.0, beta: float = 1.0, bias: bool = True):
        alpha, beta = float(alpha), float(beta)
        if alpha < 0 or beta < 0 or not np.isclose(alpha - beta, 1.0):
            raise ValueError(
                f"AlphaBetaRule needs alpha, beta >= 0 with alpha - beta = 1; got alpha={alpha}, beta={beta}."
            )
        self.alpha, self.beta, self.bias = alpha, beta, bool(bias)

    def get_config(self):
        return {"alpha": self.alpha, "beta": self.beta, "bias": self.bias}

    def _part(self, state, xp, xn, k_same, k_other, b):
        # Contributions of one sign: x⁺ with weights of that sign plus x⁻ with the others.
        z1, vjp1 = _linear_vjp(state.node, xp, k_same, b)
        if state.node.nonnegative_inputs:
            # x⁻ = 0 (the input comes from a ReLU, say): its term vanishes; skip its two passes.
            return z1, (lambda s: xp * vjp1(s))
        z2, vjp2 = _linear_vjp(state.node, xn, k_other)
        return z1 + z2, (lambda s: xp * vjp1(s) + xn * vjp2(s))

    def kernel_rule(self, x, z, relevance, state):
        kernels, bias = state.node.weights()
        nonnegative = state.node.nonnegative_inputs
        # W⁻ and x⁻ only where a term uses them (β > 0, or inputs of either sign).
        kp = [_positive(k) for k in kernels]
        kn = [_negative(k) for k in kernels] if (self.beta or not nonnegative) else None
        xp, xn = _positive(x), (None if nonnegative else _negative(x))
        use_bias = self.bias and bias is not None
        zp, back_p = self._part(state, xp, xn, kp, kn, _positive(bias) if use_bias else None)
        result = self.alpha * back_p(safe_divide(relevance, zp))
        if self.beta:
            zn, back_n = self._part(state, xp, xn, kn, kp, _negative(bias) if use_bias else None)
            result = result - self.beta * back_n(safe_divide(relevance, zn))
        return [result]


class Alpha2Beta1Rule(AlphaBetaRule):
    """LRP-α2β1."""

    def __init__(self, bias: bool = True):
        super().__init__(2.0, 1.0, bias)

    def get_config(self):
        return {"bias": self.bias}


class Alpha1Beta0Rule(AlphaBetaRule):
    """LRP-α1β0."""

    def __init__(self, bias: bool = True):
        super().__init__(1.0, 0.0, bias)

    def get_config(self):
        return {"bias": self.bias}


class ZPlusRule(Alpha1Beta0Rule):
    """Z⁺ rule (Eq. II.36) as α1β0 without bias, valid for inputs of either sign."""

    def __init__(self):
        super().__init__(bias=False)

    def get_config(self):
        return {}


class ZPlusFastRule(Rule):
    """Z⁺ in one pass (Eq. V.1): ``x ⊙ (W⁺ᵀ (R / x W⁺))``; assumes non-negative inputs."""

    def kernel_rule(self, x, z, relevance, state):
        kernels, _ = state.node.weights()
        zp, vjp = _linear_vjp(state.node, x, [_positive(k) for k in kernels])
        return [x * vjp(safe_divide(relevance, zp))]


class GammaRule(Rule):
    """LRP-γ (Montavon et al., 2019): weights ``W + γW⁺`` (and bias ``b + γb⁺``)."""

    def __init__(self, gamma: float = 0.25, bias: bool = True):
        if not np.isfinite(gamma) or gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma!r}.")
        self.gamma, self.bias = float(gamma), bool(bias)

    def get_config(self):
        return {"gamma": self.gamma, "bias": self.bias}

    def kernel_rule(self, x, z, relevance, state):
        kernels, bias = state.node.weights()
        kg = [k + self.gamma * _positive(k) for k in kernels]
        bg = bias + self.gamma * _positive(bias) if (self.bias and bias is not None) else None
        zg, vjp = _linear_vjp(state.node, x, kg, bg)
        return [x * vjp(safe_divide(relevance, zg))]


class BoundedRule(Rule):
    """Z^B rule for inputs in ``[low, high]`` (Eq. II.37; Montavon et al., 2017).

    ``R_i = Σ_j (x_i w_ij − l_i w_ij⁺ − h_i w_ij⁻) / Σ_i (x_i w_ij − l_i w_ij⁺ − h_i w_ij⁻) R_j``.

    Parameters
    ----------
    low, high : float or array broadcastable to one input sample
    """

    def __init__(self, low=-1.0, high=1.0):
        low_a, high_a = np.asarray(low, dtype="float64"), np.asarray(high, dtype="float64")
        if np.any(low_a > high_a):
            raise ValueError("BoundedRule needs low <= high.")
        self.low, self.high = low, high

    def get_config(self):
        to = lambda v: np.asarray(v).tolist()  # noqa: E731
        return {"low": to(self.low), "high": to(self.high)}

    def kernel_rule(self, x, z, relevance, state):
        kernels, _ = state.node.weights()
        low = ops.ones_like(x) * ops.cast(np.asarray(self.low), x.dtype)
        high = ops.ones_like(x) * ops.cast(np.asarray(self.high), x.dtype)
        z0, vjp0 = _linear_vjp(state.node, x, kernels)
        zl, vjpl = _linear_vjp(state.node, low, [_positive(k) for k in kernels])
        zh, vjph = _linear_vjp(state.node, high, [_negative(k) for k in kernels])
        s = safe_divide(relevance, z0 - zl - zh)
        return [x * vjp0(s) - low * vjpl(s) - high * vjph(s)]


# -- Batch normalization (an element-wise affine map y = w x + b) ------------------------------


def _batchnorm_affine(layer, x):
    """``w = γ/√(σ² + ε)``, ``b = β − μw`` and ``μ``, shaped to broadcast against ``x``."""
    ndim = len(x.shape)
    shape = [1] * ndim
    shape[layer.axis % ndim] = x.shape[layer.axis % ndim]
    return tuple(
        ops.cast(ops.reshape(t, shape), x.dtype) for t in batchnorm.affine_parameters(layer)
    )


class BatchNormEpsilonRule(Rule):
    """Batch normalization as one linear layer: ``R_i = w x_i / (w x_i + b + ε sign) R_i``."""

    def __init__(self, epsilon: float = 1e-7, bias: bool = True):
        self.epsilon, self.bias = float(epsilon), bool(bias)

    def get_config(self):
        return {"epsilon": self.epsilon, "bias": self.bias}

    def __call__(self, inputs, outputs, reversed_outputs, state):
        x, r = inputs[0], reversed_outputs[0]
        w, b, _ = _batchnorm_affine(state.layer, x)
        z = w * x + (b if self.bias else 0.0)
        return [w * x * _divide_stabilized(r, z, self.epsilon)]


class BatchNormTwoLinearRule(Rule):
    """Batch normalization as two linear layers, ``t = x − μ`` then ``y = w t + β``, each with LRP-ε."""

    def __init__(self, epsilon: float = 1e-7):
        self.epsilon = float(epsilon)

    def get_config(self):
        return {"epsilon": self.epsilon}

    def __call__(self, inputs, outputs, reversed_outputs, state):
        x, r = inputs[0], reversed_outputs[0]
        w, b, mean = _batchnorm_affine(state.layer, x)
        t = x - mean
        y = w * t + (b + w * mean)
        r_t = w * t * _divide_stabilized(r, y, self.epsilon)
        return [x * _divide_stabilized(r_t, t, self.epsilon)]


class BatchNormAlphaBetaRule(Rule):
    """The batch-normalization rule of Hui & Binder (2018), Eq. A.3.

    ``R_i = (α₀ x⁺w⁺/(x⁺w⁺ + b⁺) + α₁ x⁺w⁻/(x⁺w⁻ + b⁻) + α₂ x⁻w⁺/(x⁻w⁺ + b⁺)
    + α₃ x⁻w⁻/(x⁻w⁻ + b⁻)) R_i`` with ``α = (2, −1, 0, 0)`` by default.
    """

    def __init__(self, alphas=(2.0, -1.0, 0.0, 0.0)):
        alphas = tuple(float(a) for a in alphas)
        if len(alphas) != 4:
            raise ValueError(f"alphas must have 4 entries (Eq. A.3), got {len(alphas)}.")
        self.alphas = alphas

    def get_config(self):
        return {"alphas": list(self.alphas)}

    def __call__(self, inputs, outputs, reversed_outputs, state):
        x, r = inputs[0], reversed_outputs[0]
        w, b, _ = _batchnorm_affine(state.layer, x)
        xp, xn = _positive(x), _negative(x)
        wp, wn = _positive(w), _negative(w)
        bp, bn = _positive(b), _negative(b)
        terms = [(xp * wp, bp), (xp * wn, bn), (xn * wp, bp), (xn * wn, bn)]
        factor = ops.zeros_like(x)
        for a, (num, bias) in zip(self.alphas, terms):
            if a:
                factor = factor + a * safe_divide(num, num + bias)
        return [factor * r]


RULES: dict[str, type] = {
    "Z": ZRule,
    "Epsilon": EpsilonRule,
    "WSquare": WSquareRule,
    "Flat": FlatRule,
    "AlphaBeta": AlphaBetaRule,
    "Alpha2Beta1": Alpha2Beta1Rule,
    "Alpha1Beta0": Alpha1Beta0Rule,
    "ZPlus": ZPlusRule,
    "ZPlusFast": ZPlusFastRule,
    "Gamma": GammaRule,
    "Bounded": BoundedRule,
    "Gradient": GradientRule,
    "Pass": PassRule,
}


def get_rule(rule, **params) -> Rule:
    """A rule object from a rule object, a rule class or a name of :data:`RULES`."""
    if isinstance(rule, Rule) or (callable(rule) and not isinstance(rule, type)):
        return rule
    if isinstance(rule, type) and issubclass(rule, Rule):
        return rule(**params)
    if isinstance(rule, str):
        if rule not in RULES:
            raise ValueError(f"Unknown LRP rule {rule!r}. Valid names: {', '.join(RULES)}.")
        return RULES[rule](**params)
    raise TypeError(f"A rule must be a Rule, a Rule class or a name; got {type(rule).__name__}.")
