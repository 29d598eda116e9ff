"""Canonizers: reversible edits that put a model into the form propagation rules expect.

Zennit-style canonizers modify a model and undo the change after the analysis. Here a
canonizer rewrites the *analysis graph* instead: the model's layers and variables are
never modified, so there is nothing left to undo when the analysis ends (the weights of a
fused layer are computed inside the analysis from the current variables).

Examples
--------
>>> import keras
>>> from innvestigate.engine.graph import build_graph
>>> inp = keras.Input((3,))
>>> model = keras.Model(inp, keras.layers.Dense(2, activation="relu")(inp))
>>> graph = SplitActivation().apply(build_graph(model))
>>> [n.kind for n in graph.nodes]
['linear', 'activation']
"""

from __future__ import annotations

import weakref

import keras

from innvestigate.engine import checks

__all__ = ["Canonizer", "SplitActivation", "FuseBatchNormalization"]

# The Activation layer split off each Dense/Conv layer, reused by every analysis of that
# layer. Keyed weakly by the layer object itself: a key of ``id(layer)`` outlives the layer,
# and a later layer that gets the same id would receive the old layer's activation function
# and dtype policy (wrong results that depend on which tests or models ran before).
_activation_layers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Canonizer:
    """Base class: ``apply(graph)`` returns the canonical graph (the model is untouched)."""

    def apply(self, graph):  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


class SplitActivation(Canonizer):
    """Splits Dense/Conv layers with an activation into a linear node and an activation node."""

    def apply(self, graph):
        from innvestigate.engine.graph import GraphNode

        nodes = []
        for node in graph.nodes:
            layer = node.layer
            if (
                node.kind == "layer"
                and node.has_kernel
                and checks.activation_name(layer) != "linear"
            ):
                key = (node.output_keys[0], "pre_activation")
                activation = _activation_layers.get(layer)
                if activation is None or activation.activation is not layer.activation:
                    activation = keras.layers.Activation(
                        layer.activation, name=f"{layer.name}_activation", dtype=layer.dtype_policy
                    )
                    _activation_layers[layer] = activation
                linear = node.linear_part([key])
                act = GraphNode(
                    activation,
                    [key],
                    node.output_keys,
                    lambda x, a=activation: [a(x)],
                    kind="activation",
                )
                act.source_layer = layer
                nodes.extend([linear, act])
            else:
                nodes.append(node)
        return graph.replace_nodes(nodes)


_FUSABLE = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)


class FuseBatchNormalization(Canonizer):
    """Folds a BatchNormalization layer into the Dense/Conv layer right before it.

    Applies where the BatchNormalization reads the linear output of a Dense or
    convolution layer that feeds nothing else and normalises its channel axis; other
    BatchNormalization layers stay in the graph for the analyzer's batch-norm rule.
    Run after :class:`SplitActivation`.
    """

    def apply(self, graph):
        removed, replaced = set(), {}
        for node in graph.nodes:
            if not checks.is_batch_normalization(node.layer) or len(node.input_keys) != 1:
                continue
            key = node.input_keys[0]
            producer = graph.producer(key)
            if (
                producer is None
                or not isinstance(producer.layer, _FUSABLE)
                or (
                    checks.activation_name(producer.layer) != "linear" and producer.kind != "linear"
                )
                or len(graph.consumers(key)) != 1
                or len(producer.output_keys) != 1
            ):
                continue
            bn = node.layer
            spec = bn.input_spec[0] if isinstance(bn.input_spec, list) else bn.input_spec
            ndim = getattr(spec, "ndim", None)
            axis = bn.axis if isinstance(bn.axis, int) else None
            data_format = getattr(producer.layer, "data_format", "channels_last")
            channel_axis = 1 if data_format == "channels_first" else -1
            if axis is None or ndim is None or axis % ndim != channel_axis % ndim:
                continue
            replaced[id(producer)] = replaced.get(id(producer), producer).with_batch_normalization(
                bn, node.output_keys
            )
            removed.add(id(node))
        return graph.replace_nodes(
            [replaced.get(id(n), n) for n in graph.nodes if id(n) not in removed]
        )
