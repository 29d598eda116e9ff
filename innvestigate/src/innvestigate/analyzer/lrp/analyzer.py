"""The LRP analyzers: one rule everywhere, presets, and rules by type, position or name."""

from __future__ import annotations

import keras

from innvestigate.analyzer.base import ReverseAnalyzerBase
from innvestigate.analyzer.lrp import composites
from innvestigate.analyzer.lrp import rules as lrp_rules
from innvestigate.engine import checks

__all__ = ["LRP", "LRP_ANALYZERS", "BATCHNORM_RULES", "layer_rule_defaults"]

BATCHNORM_RULES = ("fuse", "one_linear", "two_linear", "hui_binder")

_ELEMENTWISE_PREPROCESSING = (keras.layers.Rescaling, keras.layers.Normalization)


def _multiply_gate_rule(inputs, outputs, reversed_outputs, state):
    """Multiply: relevance goes to the inputs shaped like the output (the signal); the
    broadcast inputs (gates, e.g. squeeze-and-excitation) receive none (Arras et al., 2017)."""
    from keras import ops

    out_shape = tuple(outputs[0].shape)
    full = [tuple(x.shape) == out_shape for x in inputs]
    n_full = max(sum(full), 1)
    return [reversed_outputs[0] / n_full if f else ops.zeros_like(x) for x, f in zip(inputs, full)]


def layer_rule_defaults(bn_rule, linear_rule=None):
    """Rules for the layers without a kernel, shared by LRP and Deep Taylor.

    Merges and average pooling use ``linear_rule`` (the analyzer's own Z/ε rule where it
    has one, so that LRP-Z stays exact) or LRP-ε with ε = 1e-7.
    """
    if not isinstance(linear_rule, lrp_rules.EpsilonRule):
        linear_rule = lrp_rules.EpsilonRule()
    return [
        (lambda layer, state: checks.is_batch_normalization(layer), bn_rule),
        (lambda layer, state: checks.is_activation_layer(layer), lrp_rules.PassRule()),
        (lambda layer, state: isinstance(layer, _ELEMENTWISE_PREPROCESSING), lrp_rules.PassRule()),
        (lambda layer, state: isinstance(layer, keras.layers.Multiply), _multiply_gate_rule),
        (lambda layer, state: checks.is_linear_without_kernel(layer), linear_rule),
        (
            lambda layer, state: checks.is_max_pooling(layer) or checks.is_shape_only(layer),
            lrp_rules.GradientRule(),
        ),
    ]


def _bn_rule(bn_layer_rule):
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


# -- (de)serialisation of rules and conditions for save/load ------------------------------------

_RULE_NAMES = {cls: name for name, cls in lrp_rules.RULES.items()}


def _rule_to_json(rule):
    if isinstance(rule, str):
        return rule
    if isinstance(rule, lrp_rules.Rule) and type(rule) in _RULE_NAMES:
        return {"rule": _RULE_NAMES[type(rule)], "config": rule.get_config()}
    if isinstance(rule, type) and rule in _RULE_NAMES:
        return {"rule": _RULE_NAMES[rule], "config": {}}
    if isinstance(rule, (tuple, list)) and len(rule) == 2 and all(not isinstance(v, (dict, str)) for v in rule):
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
        return composites.LayerType(*[getattr(keras.layers, t.split(".")[-1]) for t in spec["type"]])
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
    ):
        if rule is None:
            raise ValueError("LRP needs rule=... (a Rule, Rule class or one of " + ", ".join(lrp_rules.RULES) + ").")
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
        self._bn_rule = _bn_rule(bn_layer_rule)
        self._record_lrp_params(rule, rules, input_layer_rule, bn_layer_rule)
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
            input_layer_rule=input_json if (input_layer_rule is None or input_json is not None) else _Unsaveable(),
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

    def _conditional_mappings(self):
        return self._kernel_rules() + layer_rule_defaults(self._bn_rule, self._rule)

    def _default_mapping(self):
        return None  # every layer must be matched; see _unsupported_layers

    def _unsupported_layers(self, graph, mappings):
        bad = [node.name for node, m in zip(graph.nodes, mappings) if m is None]
        return bad, "no LRP rule applies to these layer types (" + ", ".join(
            sorted({type(n.layer).__name__ for n, m in zip(graph.nodes, mappings) if m is None})
        ) + ")"


def _fixed(rule_factory, doc, extra_params=(), **defaults):
    """An LRP analyzer class with a fixed rule (registered under its own name)."""

    class Fixed(LRP):
        __doc__ = doc

        def __init__(self, model, **kwargs):
            params = {k: kwargs.pop(k, v) for k, v in defaults.items()}
            for k in ("rule",):
                kwargs.pop(k, None)
            self._fixed_params = params
            super().__init__(model, rule=rule_factory(**params), **kwargs)
            self._params.pop("rule", None)
            self._store(**params)

    return Fixed


def _preset(name, doc):
    class Preset(LRP):
        __doc__ = doc

        def __init__(self, model, epsilon: float = 0.1, **kwargs):
            kwargs.pop("rule", None)
            user_rules = kwargs.pop("rules", None) or []
            rules = composites.as_conditions(user_rules) + composites.PRESETS[name](epsilon)
            super().__init__(model, rule=lrp_rules.EpsilonRule(epsilon), rules=rules, **kwargs)
            self._params.pop("rule", None)
            self._params["rules"] = None if not user_rules else self._params["rules"]
            self._store(epsilon=float(epsilon))

    return Preset


_EXAMPLE = """

    Examples
    --------
    >>> import numpy as np, keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    >>> innvestigate.create_analyzer("{name}", model).analyze(np.ones((1, 3), "float32")).shape
    (1, 3)
"""

LRPZ = _fixed(lambda: lrp_rules.ZRule(), "LRP-Z (Eq. II.31)." + _EXAMPLE.format(name="lrp.z"))
LRPZIgnoreBias = _fixed(lambda: lrp_rules.ZRule(bias=False), "LRP-Z without bias." + _EXAMPLE.format(name="lrp.z_IB"))
LRPEpsilon = _fixed(
    lambda epsilon: lrp_rules.EpsilonRule(epsilon), "LRP-ε (Eq. II.33); parameter ``epsilon``." + _EXAMPLE.format(name="lrp.epsilon"), epsilon=1e-7
)
LRPEpsilonIgnoreBias = _fixed(
    lambda epsilon: lrp_rules.EpsilonRule(epsilon, bias=False), "LRP-ε without bias." + _EXAMPLE.format(name="lrp.epsilon_IB"), epsilon=1e-7
)
LRPWSquare = _fixed(lambda: lrp_rules.WSquareRule(), "LRP with the W² rule (Eq. II.35)." + _EXAMPLE.format(name="lrp.w_square"))
LRPFlat = _fixed(lambda: lrp_rules.FlatRule(), "LRP with the flat rule." + _EXAMPLE.format(name="lrp.flat"))
LRPAlphaBeta = _fixed(
    lambda alpha, beta, bias: lrp_rules.AlphaBetaRule(alpha, beta, bias),
    "LRP-αβ (Eq. II.34); parameters ``alpha``, ``beta``, ``bias``." + _EXAMPLE.format(name="lrp.alpha_beta"),
    alpha=2.0,
    beta=1.0,
    bias=True,
)
LRPAlpha2Beta1 = _fixed(lambda: lrp_rules.Alpha2Beta1Rule(), "LRP-α2β1." + _EXAMPLE.format(name="lrp.alpha_2_beta_1"))
LRPAlpha2Beta1IgnoreBias = _fixed(
    lambda: lrp_rules.Alpha2Beta1Rule(bias=False), "LRP-α2β1 without bias." + _EXAMPLE.format(name="lrp.alpha_2_beta_1_IB")
)
LRPAlpha1Beta0 = _fixed(lambda: lrp_rules.Alpha1Beta0Rule(), "LRP-α1β0." + _EXAMPLE.format(name="lrp.alpha_1_beta_0"))
LRPAlpha1Beta0IgnoreBias = _fixed(
    lambda: lrp_rules.Alpha1Beta0Rule(bias=False), "LRP-α1β0 without bias." + _EXAMPLE.format(name="lrp.alpha_1_beta_0_IB")
)
LRPZPlus = _fixed(lambda: lrp_rules.ZPlusRule(), "LRP-Z⁺ (Eq. II.36)." + _EXAMPLE.format(name="lrp.z_plus"))
LRPZPlusFast = _fixed(lambda: lrp_rules.ZPlusFastRule(), "LRP-Z⁺ in one pass (Eq. V.1)." + _EXAMPLE.format(name="lrp.z_plus_fast"))
LRPGamma = _fixed(
    lambda gamma, bias: lrp_rules.GammaRule(gamma, bias),
    "LRP-γ; parameters ``gamma``, ``bias``." + _EXAMPLE.format(name="lrp.gamma"),
    gamma=0.25,
    bias=True,
)
LRPBounded = _fixed(
    lambda low, high: lrp_rules.BoundedRule(low, high),
    "LRP with the Z^B rule (Eq. II.37) on every layer; parameters ``low``, ``high``." + _EXAMPLE.format(name="lrp.bounded"),
    low=-1.0,
    high=1.0,
)

_PRESET_DOC = (
    "LRP {which}: ε (``epsilon``, default 0.1) for Dense layers, {conv} for convolutions{flat} "
    "(Kohlbrenner et al., 2020)." 
)

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
}
for _name, _conv, _flat in [
    ("sequential_preset_a", "α1β0", ""),
    ("sequential_preset_b", "α2β1", ""),
    ("sequential_preset_a_flat", "α1β0", " and the flat rule for the input layer"),
    ("sequential_preset_b_flat", "α2β1", " and the flat rule for the input layer"),
]:
    LRP_ANALYZERS[f"lrp.{_name}"] = _preset(
        _name, _PRESET_DOC.format(which=_name, conv=_conv, flat=_flat) + _EXAMPLE.format(name=f"lrp.{_name}")
    )
for _name, _cls in LRP_ANALYZERS.items():
    if _cls is not LRP:
        _cls.__name__ = _cls.__qualname__ = "LRP" + "".join(p.capitalize() for p in _name[4:].replace(".", "_").split("_"))
