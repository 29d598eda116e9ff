"""Composites: which rule for which layer, by layer type, by position or by name.

A composite is an ordered list of ``(condition, rule)`` pairs; for each layer the first
pair whose condition holds applies. Conditions are small callables
``condition(layer, state)``; the helpers below build the usual ones.

Examples
--------
>>> import keras
>>> from innvestigate.analyzer.lrp import rules
>>> composite = [
...     (LayerType(keras.layers.Dense), rules.EpsilonRule()),
...     (Position(0), rules.FlatRule()),
...     (Name("conv_5"), rules.Alpha1Beta0Rule()),
... ]
>>> len(as_conditions(composite))
3
"""

from __future__ import annotations

import keras

from innvestigate.analyzer.lrp import attention, normalization, recurrent
from innvestigate.analyzer.lrp import rules as lrp_rules
from innvestigate.engine import checks

__all__ = [
    "LayerType",
    "Name",
    "Position",
    "InputLayer",
    "as_condition",
    "as_conditions",
    "PRESETS",
    "BATCHNORM_RULES",
    "batch_norm_rule",
    "merge_rule",
    "layer_rule_defaults",
    "multiply_gate_rule",
    "multiply_uniform_rule",
]


class LayerType:
    """Layers of the given Keras class(es), e.g. ``LayerType(keras.layers.Dense)``.

    For a Dense/Conv node this means its linear part (its activation is a separate node).
    """

    def __init__(self, *types):
        self.types = types

    def __call__(self, layer, state):
        return isinstance(layer, self.types) and state.node.kind != "activation"

    def __repr__(self):
        return f"LayerType({', '.join(t.__name__ for t in self.types)})"


class Name:
    """The layer with this name (or any of several names)."""

    def __init__(self, *names):
        self.names = set(names)

    def __call__(self, layer, state):
        return layer.name in self.names and state.node.kind != "activation"

    def __repr__(self):
        return f"Name({', '.join(sorted(self.names))})"


class Position:
    """The i-th Dense/Conv layer in topological order (negative counts from the output)."""

    def __init__(self, index: int):
        self.index = int(index)

    def __call__(self, layer, state):
        node = state.node
        if node.kernel_position is None:
            return False
        index = self.index if self.index >= 0 else state.graph.n_kernel_nodes + self.index
        return node.kernel_position == index

    def __repr__(self):
        return f"Position({self.index})"


class InputLayer:
    """Dense/Conv layers reading the model input directly."""

    def __call__(self, layer, state):
        return state.node.has_kernel and state.node.is_input_layer

    def __repr__(self):
        return "InputLayer()"


def as_condition(condition):
    """A condition from a Keras layer class, a layer name, a kernel position or a callable."""
    if isinstance(condition, type) and issubclass(condition, keras.layers.Layer):
        return LayerType(condition)
    if isinstance(condition, str):
        return Name(condition)
    if isinstance(condition, int) and not isinstance(condition, bool):
        return Position(condition)
    if callable(condition):
        return condition
    raise TypeError(
        f"A rule condition must be a layer class, a layer name, a position or a callable; got {condition!r}."
    )


def as_conditions(pairs):
    """Normalises ``[(condition, rule), ...]`` (or a dict) into callables and rule objects."""
    if isinstance(pairs, dict):
        pairs = list(pairs.items())
    out = []
    for item in pairs:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise TypeError(f"rules must be (condition, rule) pairs; got {item!r}.")
        condition, rule = item
        out.append((as_condition(condition), lrp_rules.get_rule(rule)))
    return out


_DENSE = LayerType(keras.layers.Dense)
_CONV = LayerType(*(t for t in checks.KERNEL_LAYER_TYPES if t is not keras.layers.Dense))


def preset(conv_rule, flat_input: bool, epsilon: float = 0.1):
    """The LRP composites of Kohlbrenner et al. (2020) / Lapuschkin et al. (2017): ε for
    Dense layers, ``conv_rule`` for convolutions, optionally Flat for the input layer."""
    pairs = []
    if flat_input:
        pairs.append((InputLayer(), lrp_rules.FlatRule()))
    pairs.append((_DENSE, lrp_rules.EpsilonRule(epsilon=epsilon)))
    pairs.append((_CONV, conv_rule))
    return pairs


PRESETS = {
    "sequential_preset_a": lambda eps: preset(lrp_rules.Alpha1Beta0Rule(), False, eps),
    "sequential_preset_b": lambda eps: preset(lrp_rules.Alpha2Beta1Rule(), False, eps),
    "sequential_preset_a_flat": lambda eps: preset(lrp_rules.Alpha1Beta0Rule(), True, eps),
    "sequential_preset_b_flat": lambda eps: preset(lrp_rules.Alpha2Beta1Rule(), True, eps),
}


# -- the rules for the layers without a kernel, shared by every LRP analyzer and Deep Taylor -------

BATCHNORM_RULES = ("fuse", "one_linear", "two_linear", "hui_binder")

_ELEMENTWISE_PREPROCESSING = (keras.layers.Rescaling, keras.layers.Normalization)

# Activations that make a gate: their output scales another tensor (LSTM/GRU gates,
# gated linear units, squeeze-and-excitation).
_GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")

#: Stabiliser of the z-rule at merges and average pooling (Zennit's ``Norm`` uses 1e-6,
#: iNNvestigate Keras' epsilon 1e-7).
MERGE_EPSILON = 1e-7


def batch_norm_rule(bn_layer_rule):
    """The rule for BatchNormalization layers that are not folded into a Dense/Conv layer."""
    if isinstance(bn_layer_rule, lrp_rules.Rule):
        return bn_layer_rule
    if bn_layer_rule in ("fuse", "one_linear"):
        # "fuse" folds what it can; a BatchNormalization that follows no Dense/Conv layer
        # (e.g. after a concatenation) is treated as one linear layer.
        return lrp_rules.BatchNormEpsilonRule()
    if bn_layer_rule == "two_linear":
        return lrp_rules.BatchNormTwoLinearRule()
    if bn_layer_rule == "hui_binder":
        return lrp_rules.BatchNormAlphaBetaRule()
    raise ValueError(f"bn_layer_rule={bn_layer_rule!r} is not one of {BATCHNORM_RULES} or a Rule.")


def merge_rule(merge_layer_rule, kernel_rule=None):
    """The rule for Add/Subtract/Average merges and average pooling.

    ``"z"`` (the default): the z-rule with only a tiny stabiliser, whatever the analyzer's
    rule, as iNNvestigate 1.x/2.x and Zennit do. ``"analyzer"``: the analyzer's own ε (this
    package's behaviour up to 3.0.0a1; LRP-Z stays the z-rule). A Rule: that rule.
    """
    if isinstance(merge_layer_rule, lrp_rules.Rule):
        return merge_layer_rule
    if merge_layer_rule == "z":
        if isinstance(kernel_rule, lrp_rules.EpsilonRule) and kernel_rule.epsilon == 0:
            return lrp_rules.ZRule()
        return lrp_rules.EpsilonRule(MERGE_EPSILON)
    if merge_layer_rule == "analyzer":
        if isinstance(kernel_rule, lrp_rules.EpsilonRule):
            return kernel_rule
        return lrp_rules.EpsilonRule(MERGE_EPSILON)
    raise ValueError(f"merge_layer_rule={merge_layer_rule!r} is not 'z', 'analyzer' or a Rule.")


def _is_gate(state, key) -> bool:
    producer = state.graph.producer(key) if state.graph is not None else None
    return producer is not None and checks.activation_name(producer.layer) in _GATE_ACTIVATIONS


def multiply_gate_rule(inputs, outputs, reversed_outputs, state):
    """Multiply: signal-take-all (Arras et al., 2017). A gate - an input made by a sigmoid, or
    one broadcast against the output (squeeze-and-excitation) - receives no relevance; the
    signal receives all of it. Without a recognisable gate, the inputs shaped like the output
    share it equally."""
    from keras import ops

    out_shape = tuple(outputs[0].shape)
    full = [tuple(x.shape) == out_shape for x in inputs]
    gates = [_is_gate(state, k) for k in state.node.input_keys]
    signal = [f and not g for f, g in zip(full, gates)]
    if not any(signal):
        signal = full
    n_signal = max(sum(signal), 1)
    return [
        reversed_outputs[0] / n_signal if s else ops.zeros_like(x) for x, s in zip(inputs, signal)
    ]


def multiply_uniform_rule(inputs, outputs, reversed_outputs, state):
    """Multiply: AttnLRP's uniform rule, each factor shaped like the output gets an equal share
    (``R/N`` for N factors); broadcast factors (constants per channel) receive none."""
    from keras import ops

    out_shape = tuple(outputs[0].shape)
    full = [tuple(x.shape) == out_shape for x in inputs]
    n_full = max(sum(full), 1)
    return [reversed_outputs[0] / n_full if f else ops.zeros_like(x) for x, f in zip(inputs, full)]


def _operation_rule(kind):
    """Rules for ``keras.ops`` calls in a functional model (``x + p``, ``ops.reshape``, ...)."""
    return lambda op, state: checks.operation_kind(op) == kind


def layer_rule_defaults(
    bn_rule, kernel_rule=None, merge_layer_rule="z", attention_rule="ah", sequence_layers=True
):
    """Rules for the layers without a kernel, shared by the LRP analyzers and Deep Taylor.

    Parameters
    ----------
    bn_rule : Rule
        For BatchNormalization layers that are not folded (see :func:`batch_norm_rule`).
    kernel_rule : Rule, optional
        The analyzer's rule for Dense/Conv layers; the attention projections use it too.
    merge_layer_rule : {"z", "analyzer"} or Rule
        Merges and average pooling (see :func:`merge_rule`).
    attention_rule : {"ah", "attnlrp"}
        Attention layers: the AH-rule (attention weights constant) or AttnLRP.
    sequence_layers : bool
        Whether LayerNorm, attention and recurrent layers get rules (False for Deep Taylor,
        whose theory covers ReLU networks).
    """
    linear = merge_rule(merge_layer_rule, kernel_rule)
    projection_rule = (
        kernel_rule if isinstance(kernel_rule, lrp_rules.Rule) else lrp_rules.EpsilonRule()
    )
    pairs = [(lambda layer, state: checks.is_batch_normalization(layer), bn_rule)]
    if sequence_layers:
        epsilon = (
            projection_rule.epsilon
            if isinstance(projection_rule, lrp_rules.EpsilonRule)
            else MERGE_EPSILON
        )
        attention_cls = (
            attention.AttnLRPAttentionRule
            if attention_rule == "attnlrp"
            else attention.AttentionHeadRule
        )
        pairs += [
            (
                lambda layer, state: normalization.is_normalization_layer(layer),
                normalization.LayerNormRule(),
            ),
            (
                lambda layer, state: attention.is_attention_layer(layer),
                attention_cls(projection_rule),
            ),
        ]
        pairs.append(
            (
                lambda layer, state: recurrent.is_recurrent_layer(layer),
                recurrent.RecurrentRule(epsilon, wrapped_rule=projection_rule),
            )
        )
    gate = multiply_uniform_rule if attention_rule == "attnlrp" else multiply_gate_rule
    pairs += [
        (lambda layer, state: checks.is_activation_layer(layer), lrp_rules.PassRule()),
        (lambda layer, state: isinstance(layer, _ELEMENTWISE_PREPROCESSING), lrp_rules.PassRule()),
        (lambda layer, state: isinstance(layer, keras.layers.Multiply), gate),
        (lambda layer, state: checks.is_linear_without_kernel(layer), linear),
        (
            lambda layer, state: checks.is_max_pooling(layer) or checks.is_shape_only(layer),
            lrp_rules.GradientRule(),
        ),
        (_operation_rule("linear"), linear),
        (_operation_rule("multiply"), gate),
        (_operation_rule("shape"), lrp_rules.GradientRule()),
    ]
    if sequence_layers:
        pairs.append((_operation_rule("elementwise"), lrp_rules.PassRule()))
    return pairs
