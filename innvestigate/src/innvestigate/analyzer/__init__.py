"""The analyzers and their registry: ``create_analyzer(name, model, **params)``."""

from __future__ import annotations

from innvestigate.analyzer.base import AnalyzerBase, ReverseAnalyzerBase
from innvestigate.analyzer.gradient_based import (
    BaselineGradient,
    Deconvnet,
    Gradient,
    GuidedBackprop,
    InputTimesGradient,
    IntegratedGradients,
    SmoothGrad,
)
from innvestigate.analyzer.misc import Input, Random

__all__ = ["ANALYZERS", "create_analyzer", "load_analyzer", "AnalyzerBase", "ReverseAnalyzerBase"]

ANALYZERS: dict[str, type] = {
    # Utility.
    "input": Input,
    "random": Random,
    # Function.
    "gradient": Gradient,
    "gradient.baseline": BaselineGradient,
    "input_t_gradient": InputTimesGradient,
    "integrated_gradients": IntegratedGradients,
    "smoothgrad": SmoothGrad,
    # Signal.
    "deconvnet": Deconvnet,
    "guided_backprop": GuidedBackprop,
}


def _register_more():
    from innvestigate.analyzer import deeptaylor, pattern, perturbation_based
    from innvestigate.analyzer.lrp import analyzer as lrp

    ANALYZERS.update(lrp.LRP_ANALYZERS)
    ANALYZERS.update(
        {
            "deep_taylor": deeptaylor.DeepTaylor,
            "deep_taylor.bounded": deeptaylor.BoundedDeepTaylor,
            "pattern.net": pattern.PatternNet,
            "pattern.attribution": pattern.PatternAttribution,
            "occlusion": perturbation_based.Occlusion,
            "lime": perturbation_based.Lime,
        }
    )


# An analyzer module that fails to import fails the package import: a silently shorter
# registry would turn into "No analyzer named ..." errors far from the cause.
_register_more()

for _name, _cls in list(ANALYZERS.items()):
    if not _cls.__dict__.get("name"):
        _cls.name = _name


def create_analyzer(name: str, model, **params) -> AnalyzerBase:
    """Creates the analyzer registered as ``name`` for ``model``.

    Parameters
    ----------
    name : str
        One of ``innvestigate.analyzer.ANALYZERS`` (e.g. "gradient", "lrp.epsilon").
    model : keras.Model
        The model to explain (without output softmax).
    **params
        The analyzer's parameters.

    Raises
    ------
    KeyError
        For an unknown name; the message lists all names.

    Examples
    --------
    >>> import keras, innvestigate
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> type(innvestigate.create_analyzer("gradient", model)).__name__
    'Gradient'
    """
    try:
        cls = ANALYZERS[name]
    except KeyError:
        raise KeyError(
            f"No analyzer named {name!r}. Valid names: {', '.join(sorted(ANALYZERS))}."
        ) from None
    analyzer = cls(model, **params)
    analyzer.name = name
    return analyzer


def load_analyzer(path: str, model=None) -> AnalyzerBase:
    """Loads an analyzer saved with ``analyzer.save(path)`` (``model`` overrides the stored model).

    Raises
    ------
    innvestigate.AnalyzerFileError
        For a missing path, a path that is a file, and damaged or edited files; the message
        says what is wrong and what to do (see :mod:`innvestigate.analyzer.files`).
    """
    return AnalyzerBase.load(path, model)
