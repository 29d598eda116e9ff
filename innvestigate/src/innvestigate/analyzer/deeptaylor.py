"""Deep Taylor decomposition (Montavon et al., 2017) for ReLU networks."""

from __future__ import annotations

from innvestigate.analyzer.base import ReverseAnalyzerBase
from innvestigate.analyzer.lrp import composites
from innvestigate.analyzer.lrp import rules as lrp_rules
from innvestigate.engine import checks

__all__ = ["DeepTaylor", "BoundedDeepTaylor", "feeds_relu"]


def feeds_relu(state) -> bool:
    """Whether a Dense/Conv node's output goes only into ReLU activations."""
    consumers = state.graph.consumers(state.node.output_keys[0])
    return bool(consumers) and all(checks.is_relu(c.layer) for c in consumers)


class DeepTaylor(ReverseAnalyzerBase):
    """Deep Taylor decomposition: the rule of each Dense/Conv layer follows its input domain.

    Thesis Ch. II §1.3.2: a layer reading the unbounded network input gets the W² rule
    (Eq. II.35); every other layer reads ReLU outputs, which are non-negative, and gets the
    Z⁺ rule (Eq. II.36 / V.1) — the output layer included. On a bias-free ReLU network
    this conserves relevance exactly. :class:`BoundedDeepTaylor` uses the Z^B rule
    (Eq. II.37) for an input known to lie in ``[low, high]``.

    The theory assumes ReLU activations and a positive explained output; other
    activations raise :class:`~innvestigate.NotAnalyzeableModelException`.

    Parameters
    ----------
    model : keras.Model
    bn_layer_rule : see :class:`~innvestigate.analyzer.lrp.analyzer.LRP`

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> innvestigate.create_analyzer("deep_taylor", model).analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    _head = "output"

    def __init__(
        self, model, bn_layer_rule="fuse", neuron_selection_mode="max_activation", output_index=None
    ):
        super().__init__(
            model,
            neuron_selection_mode,
            output_index,
            fuse_batch_normalization=(bn_layer_rule == "fuse"),
        )
        self._bn_rule = composites.batch_norm_rule(bn_layer_rule)
        self._store(bn_layer_rule=bn_layer_rule if isinstance(bn_layer_rule, str) else None)
        self._init_extra()
        self._ensure_built()

    def _init_extra(self):
        pass

    def _first_layer_rules(self):
        # The network input is unbounded: W² (Eq. II.35).
        return [
            (
                lambda layer, state: state.node.has_kernel and state.node.is_input_layer,
                lrp_rules.WSquareRule(),
            )
        ]

    def _conditional_mappings(self):
        return (
            self._first_layer_rules()
            # Every other kernel layer reads non-negative ReLU outputs: Z⁺ (Eq. II.36).
            + [(lambda layer, state: state.node.has_kernel, lrp_rules.ZPlusRule())]
            + composites.layer_rule_defaults(self._bn_rule, sequence_layers=False)
        )

    def _default_mapping(self):
        return None

    def _unsupported_layers(self, graph, mappings):
        bad = []
        for node, m in zip(graph.nodes, mappings):
            if m is None:
                bad.append(node.name)
            elif checks.is_activation_layer(node.layer) and checks.activation_name(
                node.layer
            ) not in ("relu", "linear"):
                bad.append(f"{node.name} ({checks.activation_name(node.layer)})")
        return (
            bad,
            "Deep Taylor needs ReLU networks of Dense/Conv, pooling, merge and reshaping layers",
        )


class BoundedDeepTaylor(DeepTaylor):
    """Deep Taylor with the Z^B rule (Eq. II.37) for the layers reading inputs in ``[low, high]``.

    Parameters
    ----------
    model : keras.Model
    low, high : float or array
        The input domain (e.g. the range of pixel values after preprocessing).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("deep_taylor.bounded", model, low=-1.0, high=1.0)
    >>> a.analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
    """

    def __init__(self, model, low=None, high=None, **kwargs):
        if low is None or high is None:
            raise ValueError("deep_taylor.bounded needs the input domain: low=... and high=...")
        self._low, self._high = low, high
        self._bounded_rule = lrp_rules.BoundedRule(low, high)
        super().__init__(model, **kwargs)
        self._store(low=low, high=high)

    def _first_layer_rules(self):
        return [
            (
                lambda layer, state: state.node.has_kernel and state.node.is_input_layer,
                self._bounded_rule,
            )
        ]
