"""The LRP analyzers: one rule everywhere, presets, and rules by type, position or name."""

from __future__ import annotations

from typing import ClassVar

import keras

from innvestigate.analyzer.base import ReverseAnalyzerBase
from innvestigate.analyzer.lrp import composites
from innvestigate.analyzer.lrp import rules as lrp_rules

__all__ = ["LRP", "LRP_ANALYZERS", "BATCHNORM_RULES", "layer_rule_defaults"]

# Kept importable from here for existing code; they live in the composites module.
BATCHNORM_RULES = composites.BATCHNORM_RULES
layer_rule_defaults = composites.layer_rule_defaults


# -- (de)serialisation of rules and conditions for save/load ------------------------------------

_RULE_NAMES = {cls: name for name, cls in lrp_rules.RULES.items()}


def _rule_to_json(rule):
    if isinstance(rule, str):
        return rule
    if isinstance(rule, lrp_rules.Rule) and type(rule) in _RULE_NAMES:
        return {"rule": _RULE_NAMES[type(rule)], "config": rule.get_config()}
    if isinstance(rule, type) and rule in _RULE_NAMES:
        return {"rule": _RULE_NAMES[rule], "config": {}}
    if (
        isinstance(rule, (tuple, list))
        and len(rule) == 2
        and all(not isinstance(v, (dict, str)) for v in rule)
    ):
        return {"bounds": [_plain(rule[0]), _plain(rule[1])]}
    return None


def _plain(v):
    import numpy as np

    return np.asarray(v).tolist()


def _rule_from_json(spec):
    if isinstance(spec, dict) and "rule" in spec:
        return lrp_rules.RULES[spec["rule"]](**spec["config"])
    if isinstance(spec, dict) and "bounds" in spec:
        return tuple(spec["bounds"])
    return spec


def _condition_to_json(condition):
    if isinstance(condition, str):
        return {"name": [condition]}
    if isinstance(condition, int):
        return {"position": condition}
    if isinstance(condition, type):
        return {"type": [f"{condition.__module__}.{condition.__qualname__}"]}
    if isinstance(condition, composites.Name):
        return {"name": sorted(condition.names)}
    if isinstance(condition, composites.Position):
        return {"position": condition.index}
    if isinstance(condition, composites.LayerType):
        return {"type": [t.__name__ for t in condition.types]}
    if isinstance(condition, composites.InputLayer):
        return {"input_layer": True}
    return None


def _condition_from_json(spec):
    if not isinstance(spec, dict):
        return spec
    if "name" in spec:
        return composites.Name(*spec["name"])
    if "position" in spec:
        return composites.Position(spec["position"])
    if "input_layer" in spec:
        return composites.InputLayer()
    if "type" in spec:
        return composites.LayerType(
            *[getattr(keras.layers, t.split(".")[-1]) for t in spec["type"]]
        )
    return spec


class _Unsaveable:
    def __repr__(self):
        return "<not JSON-serialisable>"


class LRP(ReverseAnalyzerBase):
    """Layer-wise relevance propagation (Bach et al., 2015) with configurable rules.

    Parameters
    ----------
    model : keras.Model
    rule : Rule, Rule class or rule name
        The rule for Dense/Conv layers not matched by ``rules`` or ``input_layer_rule``.
    rules : list of (condition, rule) or dict, optional
        Rules by layer type (a Keras layer class), by name (a str), by position among the
        Dense/Conv layers (an int, negative from the output) or by any callable
        ``condition(layer, state)``; first match wins.
    input_layer_rule : rule, rule name or (low, high), optional
        The rule for Dense/Conv layers reading the input; a pair gives the bounded
        Z^B rule (Eq. II.37).
    bn_layer_rule : {"fuse", "one_linear", "two_linear", "hui_binder"} or Rule
        Batch normalization: folded into the preceding layer, or a rule of its own as one
        linear layer (ε-rule), two linear layers (shift, then scale), or Eq. A.3.
    merge_layer_rule : {"z", "analyzer"} or Rule
        Add/Subtract/Average merges and average pooling: ``"z"`` (default) the z-rule with
        a tiny stabiliser (1e-7) whatever ``rule`` is, as iNNvestigate and Zennit do;
        ``"analyzer"`` the analyzer's own ε there too (this package up to 3.0.0a1).

    Notes
    -----
    Layers without a kernel get fixed rules (:func:`~innvestigate.analyzer.lrp.composites.layer_rule_defaults`):
    the identity for element-wise activations (ReLU, GELU, tanh, ...), signal-take-all at
    ``Multiply`` gates, the LN-rule for LayerNormalization/GroupNormalization/RMSNormalization,
    the AH-rule for attention (``lrp.attnlrp``: AttnLRP), the recurrent rule of Arras et al.
    for LSTM/GRU/SimpleRNN, and the gradient for max pooling and reshaping layers.
    neuron_selection_mode, output_index : see :class:`~innvestigate.analyzer.base.AnalyzerBase`

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> a = innvestigate.create_analyzer("lrp", model, rule="Epsilon", rules=[(0, "Flat")])
    >>> a.analyze(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    _head = "output"

    def __init__(
        self,
        model,
        rule=None,
        rules=None,
        input_layer_rule=None,
        bn_layer_rule="fuse",
        neuron_selection_mode="max_activation",
        output_index=None,
        merge_layer_rule="z",
    ):
        if rule is None:
            raise ValueError(
                "LRP needs rule=... (a Rule, Rule class or one of "
                + ", ".join(lrp_rules.RULES)
                + ")."
            )
        if isinstance(rule, dict) and "rule" in rule:
            rule = _rule_from_json(rule)
        if rules is not None and not isinstance(rules, dict):
            rules = [(_condition_from_json(c), _rule_from_json(r)) for c, r in rules]
        input_layer_rule = _rule_from_json(input_layer_rule)
        if isinstance(bn_layer_rule, dict):
            bn_layer_rule = _rule_from_json(bn_layer_rule)
        super().__init__(
            model,
            neuron_selection_mode,
            output_index,
            fuse_batch_normalization=(bn_layer_rule == "fuse"),
        )
        self._rule = lrp_rules.get_rule(rule)
        self._rules = composites.as_conditions(rules) if rules is not None else []
        if isinstance(input_layer_rule, (tuple, list)):
            if len(input_layer_rule) != 2:
                raise ValueError("input_layer_rule as bounds must be a pair (low, high).")
            self._input_layer_rule = lrp_rules.BoundedRule(*input_layer_rule)
        elif input_layer_rule is not None:
            self._input_layer_rule = lrp_rules.get_rule(input_layer_rule)
        else:
            self._input_layer_rule = None
        self._bn_rule = composites.batch_norm_rule(bn_layer_rule)
        if isinstance(merge_layer_rule, dict):
            merge_layer_rule = _rule_from_json(merge_layer_rule)
        composites.merge_rule(merge_layer_rule)  # validates
        self._merge_layer_rule = merge_layer_rule
        self._record_lrp_params(rule, rules, input_layer_rule, bn_layer_rule)
        merge_json = (
            merge_layer_rule
            if isinstance(merge_layer_rule, str)
            else _rule_to_json(merge_layer_rule)
        )
        self._store(merge_layer_rule=merge_json if merge_json is not None else _Unsaveable())
        self._ensure_built()

    def _record_lrp_params(self, rule, rules, input_layer_rule, bn_layer_rule):
        rules_json = None
        if rules is not None:
            items = list(rules.items()) if isinstance(rules, dict) else list(rules)
            rules_json = [[_condition_to_json(c), _rule_to_json(r)] for c, r in items]
            if any(c is None or r is None for c, r in rules_json):
                rules_json = _Unsaveable()
        rule_json = _rule_to_json(rule)
        input_json = _rule_to_json(input_layer_rule) if input_layer_rule is not None else None
        bn_json = bn_layer_rule if isinstance(bn_layer_rule, str) else _rule_to_json(bn_layer_rule)
        self._store(
            rule=rule_json if rule_json is not None else _Unsaveable(),
            rules=rules_json,
            input_layer_rule=input_json
            if (input_layer_rule is None or input_json is not None)
            else _Unsaveable(),
            bn_layer_rule=bn_json if bn_json is not None else _Unsaveable(),
        )

    def get_params(self):
        params = super().get_params()
        for k, v in params.items():
            if isinstance(v, _Unsaveable):
                raise TypeError(
                    f"Parameter {k!r} holds a custom rule or condition that cannot be saved as JSON; "
                    "use rules from innvestigate.analyzer.lrp.rules and conditions by type, name or position."
                )
        return params

    def _kernel_rules(self):
        pairs = list(self._rules)
        if self._input_layer_rule is not None:
            pairs.append((composites.InputLayer(), self._input_layer_rule))
        pairs.append((lambda layer, state: state.node.has_kernel, self._rule))
        return pairs

    #: the attention rule of the analyzer ("ah": attention weights held constant)
    _attention_rule = "ah"

    def _conditional_mappings(self):
        return self._kernel_rules() + composites.layer_rule_defaults(
            self._bn_rule,
            self._rule,
            merge_layer_rule=self._merge_layer_rule,
            attention_rule=self._attention_rule,
        )

    def _default_mapping(self):
        return None  # every layer must be matched; see _unsupported_layers

    def _unsupported_layers(self, graph, mappings):
        bad = [node.name for node, m in zip(graph.nodes, mappings) if m is None]
        return bad, "no LRP rule applies to these layer types (" + ", ".join(
            sorted({type(n.layer).__name__ for n, m in zip(graph.nodes, mappings) if m is None})
        ) + ")"


class _FixedRuleLRP(LRP):
    """LRP with one rule for every Dense/Conv layer; the rule's parameters are the analyzer's."""

    #: parameter defaults of the rule
    _defaults: ClassVar[dict] = {}

    def __init__(self, model, **kwargs):
        params = {k: kwargs.pop(k, v) for k, v in self._defaults.items()}
        kwargs.pop("rule", None)
        super().__init__(model, rule=self._make_rule(**params), **kwargs)
        self._params.pop("rule", None)
        self._store(**params)

    @staticmethod
    def _make_rule(**params):  # pragma: no cover - interface
        raise NotImplementedError


_EXAMPLE = """

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> innvestigate.create_analyzer("{name}", model).analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
"""


class LRPZ(_FixedRuleLRP):
    __doc__ = "LRP-Z (Eq. II.31)." + _EXAMPLE.format(name="lrp.z")

    @staticmethod
    def _make_rule():
        return lrp_rules.ZRule()


class LRPZIgnoreBias(_FixedRuleLRP):
    __doc__ = "LRP-Z without bias." + _EXAMPLE.format(name="lrp.z_IB")

    @staticmethod
    def _make_rule():
        return lrp_rules.ZRule(bias=False)


class LRPEpsilon(_FixedRuleLRP):
    __doc__ = "LRP-ε (Eq. II.33); parameter ``epsilon``." + _EXAMPLE.format(name="lrp.epsilon")
    _defaults: ClassVar[dict] = {"epsilon": 1e-7}

    @staticmethod
    def _make_rule(epsilon):
        return lrp_rules.EpsilonRule(epsilon)


class LRPEpsilonIgnoreBias(_FixedRuleLRP):
    __doc__ = "LRP-ε without bias." + _EXAMPLE.format(name="lrp.epsilon_IB")
    _defaults: ClassVar[dict] = {"epsilon": 1e-7}

    @staticmethod
    def _make_rule(epsilon):
        return lrp_rules.EpsilonRule(epsilon, bias=False)


class LRPWSquare(_FixedRuleLRP):
    __doc__ = "LRP with the W² rule (Eq. II.35)." + _EXAMPLE.format(name="lrp.w_square")

    @staticmethod
    def _make_rule():
        return lrp_rules.WSquareRule()


class LRPFlat(_FixedRuleLRP):
    __doc__ = "LRP with the flat rule." + _EXAMPLE.format(name="lrp.flat")

    @staticmethod
    def _make_rule():
        return lrp_rules.FlatRule()


class LRPAlphaBeta(_FixedRuleLRP):
    __doc__ = "LRP-αβ (Eq. II.34); parameters ``alpha``, ``beta``, ``bias``." + _EXAMPLE.format(
        name="lrp.alpha_beta"
    )
    _defaults: ClassVar[dict] = {"alpha": 2.0, "beta": 1.0, "bias": True}

    @staticmethod
    def _make_rule(alpha, beta, bias):
        return lrp_rules.AlphaBetaRule(alpha, beta, bias)


class LRPAlpha2Beta1(_FixedRuleLRP):
    __doc__ = "LRP-α2β1." + _EXAMPLE.format(name="lrp.alpha_2_beta_1")

    @staticmethod
    def _make_rule():
        return lrp_rules.Alpha2Beta1Rule()


class LRPAlpha2Beta1IgnoreBias(_FixedRuleLRP):
    __doc__ = "LRP-α2β1 without bias." + _EXAMPLE.format(name="lrp.alpha_2_beta_1_IB")

    @staticmethod
    def _make_rule():
        return lrp_rules.Alpha2Beta1Rule(bias=False)


class LRPAlpha1Beta0(_FixedRuleLRP):
    __doc__ = "LRP-α1β0." + _EXAMPLE.format(name="lrp.alpha_1_beta_0")

    @staticmethod
    def _make_rule():
        return lrp_rules.Alpha1Beta0Rule()


class LRPAlpha1Beta0IgnoreBias(_FixedRuleLRP):
    __doc__ = "LRP-α1β0 without bias." + _EXAMPLE.format(name="lrp.alpha_1_beta_0_IB")

    @staticmethod
    def _make_rule():
        return lrp_rules.Alpha1Beta0Rule(bias=False)


class LRPZPlus(_FixedRuleLRP):
    __doc__ = "LRP-Z⁺ (Eq. II.36)." + _EXAMPLE.format(name="lrp.z_plus")

    @staticmethod
    def _make_rule():
        return lrp_rules.ZPlusRule()


class LRPZPlusFast(_FixedRuleLRP):
    __doc__ = "LRP-Z⁺ in one pass (Eq. V.1)." + _EXAMPLE.format(name="lrp.z_plus_fast")

    @staticmethod
    def _make_rule():
        return lrp_rules.ZPlusFastRule()


class LRPGamma(_FixedRuleLRP):
    __doc__ = "LRP-γ; parameters ``gamma``, ``bias``." + _EXAMPLE.format(name="lrp.gamma")
    _defaults: ClassVar[dict] = {"gamma": 0.25, "bias": True}

    @staticmethod
    def _make_rule(gamma, bias):
        return lrp_rules.GammaRule(gamma, bias)


class LRPBounded(_FixedRuleLRP):
    __doc__ = (
        "LRP with the Z^B rule (Eq. II.37) on every layer; parameters ``low``, ``high``."
        + _EXAMPLE.format(name="lrp.bounded")
    )
    _defaults: ClassVar[dict] = {"low": -1.0, "high": 1.0}

    @staticmethod
    def _make_rule(low, high):
        return lrp_rules.BoundedRule(low, high)


class LRPAttnLRP(_FixedRuleLRP):
    """AttnLRP (Achtibat et al., ICML 2024; the LXT package) for transformers.

    The ε-rule (``epsilon``) on Dense/EinsumDense/Conv layers and the attention projections;
    in attention, the uniform rule on the products ``q kᵀ`` and ``A v`` and the softmax rule
    ``R_s = s ⊙ (R_A − A Σ R_A)``, so that query and key receive relevance (the default LRP
    analyzers hold the attention weights constant, the AH-rule); the uniform rule at
    ``Multiply`` (each factor half); the LN-rule for layer normalization; the identity for
    element-wise non-linearities (GELU, SiLU, ...); the z-rule at residual ``Add``s.

    Parameters
    ----------
    model : keras.Model
    epsilon : float
        ε of the linear parts (default 1e-6).

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> tokens = keras.Input((6,), dtype="int32")
    >>> h = keras.layers.Embedding(20, 8)(tokens)
    >>> h = keras.layers.LayerNormalization()(h + keras.layers.MultiHeadAttention(2, 4)(h, h))
    >>> out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(h))
    >>> a = innvestigate.create_analyzer("lrp.attnlrp", keras.Model(tokens, out))
    >>> a.analyze(np.array([[1, 4, 2, 7, 0, 3]])).shape
    (1, 6)
    """

    _defaults: ClassVar[dict] = {"epsilon": 1e-6}
    _attention_rule = "attnlrp"

    @staticmethod
    def _make_rule(epsilon):
        return lrp_rules.EpsilonRule(epsilon)


class _PresetLRP(LRP):
    """LRP composites of Kohlbrenner et al. (2020) / Lapuschkin et al. (2017)."""

    _preset = ""

    def __init__(self, model, epsilon: float = 0.1, **kwargs):
        kwargs.pop("rule", None)
        user_rules = kwargs.pop("rules", None) or []
        rules = composites.as_conditions(user_rules) + composites.PRESETS[self._preset](epsilon)
        super().__init__(model, rule=lrp_rules.EpsilonRule(epsilon), rules=rules, **kwargs)
        self._params.pop("rule", None)
        self._params["rules"] = None if not user_rules else self._params["rules"]
        self._store(epsilon=float(epsilon))


_PRESET_DOC = (
    "LRP {which}: ε (``epsilon``, default 0.1) for Dense layers, {conv} for convolutions{flat} "
    "(Kohlbrenner et al., 2020)."
)


class LRPSequentialPresetA(_PresetLRP):
    __doc__ = _PRESET_DOC.format(
        which="sequential_preset_a", conv="α1β0", flat=""
    ) + _EXAMPLE.format(name="lrp.sequential_preset_a")
    _preset = "sequential_preset_a"


class LRPSequentialPresetB(_PresetLRP):
    __doc__ = _PRESET_DOC.format(
        which="sequential_preset_b", conv="α2β1", flat=""
    ) + _EXAMPLE.format(name="lrp.sequential_preset_b")
    _preset = "sequential_preset_b"


class LRPSequentialPresetAFlat(_PresetLRP):
    __doc__ = _PRESET_DOC.format(
        which="sequential_preset_a_flat", conv="α1β0", flat=" and the flat rule for the input layer"
    ) + _EXAMPLE.format(name="lrp.sequential_preset_a_flat")
    _preset = "sequential_preset_a_flat"


class LRPSequentialPresetBFlat(_PresetLRP):
    __doc__ = _PRESET_DOC.format(
        which="sequential_preset_b_flat", conv="α2β1", flat=" and the flat rule for the input layer"
    ) + _EXAMPLE.format(name="lrp.sequential_preset_b_flat")
    _preset = "sequential_preset_b_flat"


LRP_ANALYZERS = {
    "lrp": LRP,
    "lrp.z": LRPZ,
    "lrp.z_IB": LRPZIgnoreBias,
    "lrp.epsilon": LRPEpsilon,
    "lrp.epsilon_IB": LRPEpsilonIgnoreBias,
    "lrp.w_square": LRPWSquare,
    "lrp.flat": LRPFlat,
    "lrp.alpha_beta": LRPAlphaBeta,
    "lrp.alpha_2_beta_1": LRPAlpha2Beta1,
    "lrp.alpha_2_beta_1_IB": LRPAlpha2Beta1IgnoreBias,
    "lrp.alpha_1_beta_0": LRPAlpha1Beta0,
    "lrp.alpha_1_beta_0_IB": LRPAlpha1Beta0IgnoreBias,
    "lrp.z_plus": LRPZPlus,
    "lrp.z_plus_fast": LRPZPlusFast,
    "lrp.gamma": LRPGamma,
    "lrp.bounded": LRPBounded,
    "lrp.attnlrp": LRPAttnLRP,
    "lrp.sequential_preset_a": LRPSequentialPresetA,
    "lrp.sequential_preset_b": LRPSequentialPresetB,
    "lrp.sequential_preset_a_flat": LRPSequentialPresetAFlat,
    "lrp.sequential_preset_b_flat": LRPSequentialPresetBFlat,
}
