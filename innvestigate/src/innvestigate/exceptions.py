"""Errors raised by innvestigate."""

from __future__ import annotations

__all__ = [
    "AnalyzerFileError",
    "NeuronSelectionError",
    "NotAnalyzeableModelException",
    "SoftmaxOutputError",
    "SignalOverflowError",
]


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


class SignalOverflowError(FloatingPointError):
    """The back-propagated signal left the range of the model's float type.

    Raised by PatternNet / PatternAttribution when the exact result of the analysis is
    too large to represent (for finite inputs), instead of returning ``inf``/``nan``.
    ``layer`` names the layer whose reversed value first overflowed (walking back from
    the output), ``gain`` is the average growth of the signal per Dense/Conv layer up to there.

    Examples
    --------
    >>> err = SignalOverflowError("PatternNet", "conv2d_60", 120.0, 35, "float32")
    >>> err.layer, err.gain
    ('conv2d_60', 120.0)
    """

    def __init__(self, analyzer: str, layer: str, gain: float, n_kernel_layers: int, dtype: str):
        self.analyzer = analyzer
        self.layer = layer
        self.gain = gain
        super().__init__(
            f"{analyzer}'s back-propagated signal exceeds the {dtype} range at layer {layer!r}, "
            f"{n_kernel_layers} Dense/Conv layers from the output: the patterns amplify it by "
            f"about {gain:.3g}x per layer. The exact result is not representable in {dtype} "
            "(patterns of a network with random or untrained weights, or fit on too little data, "
            "are poorly aligned with the filters and grow the signal geometrically with depth). "
            "Fit the patterns on representative data for a trained model, or analyse a float64 "
            "copy of the model."
        )


class NeuronSelectionError(ValueError, IndexError):
    """``neuron_selection`` names an output neuron the analysed output does not have.

    A subclass of both ``ValueError`` and ``IndexError`` (as numpy's ``AxisError``), raised
    by ``analyze`` before any computation. Negative indices are refused too: they do not
    count from the end.

    Examples
    --------
    >>> err = NeuronSelectionError("neuron_selection=3 is out of range [0, 3)")
    >>> isinstance(err, IndexError) and isinstance(err, ValueError)
    True
    """


class AnalyzerFileError(ValueError):
    """An analyzer directory written by ``analyzer.save`` cannot be read.

    Raised by :func:`innvestigate.load_analyzer` for a missing path, a path that is a file,
    and damaged or edited files (``analyzer.json``, ``arrays.npz``, ``model.keras``): the
    message says which file, what is wrong and what to do. ``path`` is the analyzer directory.

    Examples
    --------
    >>> err = AnalyzerFileError("/tmp/a", "analyzer.json is not valid JSON")
    >>> err.path
    '/tmp/a'
    """

    def __init__(self, path, problem: str, advice: str | None = None):
        self.path = str(path)
        self.problem = problem
        advice = advice or (
            "The directory was damaged or edited after analyzer.save(path) wrote it; save the "
            "analyzer again (or restore the directory from a backup)."
        )
        super().__init__(f"Cannot load the analyzer saved at {self.path!r}: {problem}. {advice}")
