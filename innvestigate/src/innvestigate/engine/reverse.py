"""Reverse propagation: walk the graph from the output to the inputs, one mapping per node.

A *mapping* is a callable ``mapping(inputs, outputs, reversed_outputs, state)`` returning
the reversed values for the node's inputs (thesis Chapter V §3.2, Algorithm listing
"back_propagate"). Where a tensor branches, the reversed values of its consumers are summed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras
from keras import ops

__all__ = [
    "ReverseState",
    "reverse_propagate",
    "resolve_mappings",
    "call_condition",
    "no_flow_mapping",
]


class ReverseState:
    """What a mapping knows about the node it reverses.

    Attributes
    ----------
    node : GraphNode
    layer : keras.layers.Layer
    position : int
        Index of the node in topological order.
    depth : int
        Distance from the analysed output (0 = output node).
    kernel_position : int or None
        Index among the Dense/Conv nodes.
    is_input_layer : bool
    graph : AnalysisGraph
    input_masks : list
        The Keras mask of each input (None where the input has none), e.g. the padding
        mask of ``Embedding(mask_zero=True)`` reaching a recurrent or attention layer.
    """

    def __init__(self, node, graph, vjp=None, input_masks=None):
        self.node = node
        self.layer = node.layer
        self.position = node.position
        self.depth = node.depth
        self.kernel_position = node.kernel_position
        self.is_input_layer = node.is_input_layer
        self.graph = graph
        self._vjp = vjp
        self.input_masks = (
            list(input_masks) if input_masks is not None else [None] * len(node.input_keys)
        )

    def __getitem__(self, key):  # thesis listings read bp_state['layer']
        return getattr(self, key)

    def gradient(self, cotangents):
        """The node's vector–Jacobian product for ``cotangents`` (one per output)."""
        if self._vjp is None:
            from innvestigate import backend

            xs = self._inputs
            return backend.get().vjp(self.node, xs, cotangents)
        return self._vjp(cotangents)


def call_condition(condition: Callable, layer, state) -> bool:
    """Calls ``condition(layer, state)`` or ``condition(layer)``, whichever it accepts."""
    try:
        n_params = len(inspect.signature(condition).parameters)
    except (TypeError, ValueError):
        n_params = 2
    return bool(condition(layer, state) if n_params >= 2 else condition(layer))


def no_flow_mapping(inputs, outputs, reversed_outputs, state):
    """Zeros for every input: the mapping of nodes with integer or boolean outputs."""
    return [ops.zeros_like(x) for x in inputs]


def resolve_mappings(graph, conditional_mappings, default_mapping):
    """For each node, the first mapping whose condition holds (else the default)."""
    chosen = []
    for node in graph.nodes:
        if node.non_float_outputs:
            # Integer or boolean outputs (masks, ids): nothing flows back through them.
            chosen.append(no_flow_mapping)
            continue
        state = ReverseState(node, graph)
        for condition, mapping in conditional_mappings:
            if call_condition(condition, node.layer, state):
                chosen.append(mapping)
                break
        else:
            chosen.append(default_mapping)
    return chosen


def _sum(parts, value):
    """The reversed values reaching one tensor, summed (zeros for integer/boolean tensors)."""
    if not keras.backend.standardize_dtype(value.dtype).startswith(("float", "bfloat")):
        return ops.zeros_like(value)
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def reverse_propagate(graph, values, vjps, mappings, head, keep_all: bool = False):
    """Propagates ``head`` (the reversed value of the output) back to the inputs.

    Parameters
    ----------
    graph : AnalysisGraph
    values : dict
        Forward values by tensor key.
    vjps : dict
        Per node position, the node's recorded vector–Jacobian product.
    mappings : list of callables
        One per node (see :func:`resolve_mappings`).
    head : tensor
        Reversed value of the analysed output.
    keep_all : bool
        Also return the reversed value of every tensor.

    Returns
    -------
    list of tensors (one per model input), and a dict key -> reversed value if ``keep_all``.
    """
    pending = {graph.output_key: [head]}
    kept = {}
    for node in reversed(graph.nodes):
        reversed_outputs = []
        for key in node.output_keys:
            parts = pending.pop(key, None)
            if parts is None:
                reversed_outputs.append(ops.zeros_like(values[key]))
            else:
                total = _sum(parts, values[key])
                reversed_outputs.append(total)
                if keep_all:
                    kept[key] = total
        xs = [values[k] for k in node.input_keys]
        ys = [values[k] for k in node.output_keys]
        masks = getattr(values, "masks", {})
        state = ReverseState(
            node, graph, vjps.get(node.position), [masks.get(k) for k in node.input_keys]
        )
        state._inputs = xs
        reversed_inputs = mappings[node.position](xs, ys, reversed_outputs, state)
        if len(reversed_inputs) != len(xs):
            raise ValueError(
                f"The mapping for layer {node.name} returned {len(reversed_inputs)} values for "
                f"{len(xs)} inputs."
            )
        for key, r in zip(node.input_keys, reversed_inputs):
            pending.setdefault(key, []).append(r)
    results = []
    for key in graph.input_keys:
        parts = pending.get(key)
        if parts is None:
            results.append(ops.zeros_like(values[key]))
            continue
        total = _sum(parts, values[key])
        results.append(total)
        if keep_all:
            kept[key] = total
    return (results, kept) if keep_all else results
