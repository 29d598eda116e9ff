"""Errors raised by innvestigate."""

from __future__ import annotations

__all__ = ["NotAnalyzeableModelException", "SoftmaxOutputError"]


class NotAnalyzeableModelException(ValueError):
    """A model contains layers the chosen analyzer cannot handle.

    Raised when the analyzer is created, before any computation. ``layers`` holds the
    names of the offending layers.

    Examples
    --------
    >>> err = NotAnalyzeableModelException("LRP", ["my_layer"], "no rule")
    >>> err.layers
    ['my_layer']
    """

    def __init__(self, analyzer: str, layers, reason: str):
        self.analyzer = analyzer
        self.layers = list(layers)
        super().__init__(
            f"{analyzer} cannot analyze this model: {reason}. Offending layers: "
            f"{', '.join(self.layers)}. Add a rule for these layers (rules=[(condition, rule)]) "
            "or choose an analyzer that handles them (e.g. 'gradient')."
        )


class SoftmaxOutputError(ValueError):
    """The analysed output passes through a softmax."""
