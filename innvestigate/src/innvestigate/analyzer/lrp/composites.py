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

from innvestigate.analyzer.lrp import rules as lrp_rules
from innvestigate.engine import checks

__all__ = ["LayerType", "Name", "Position", "InputLayer", "as_condition", "as_conditions", "PRESETS"]


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
