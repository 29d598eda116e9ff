"""Typed errors of xcsvm."""

__all__ = [
    "ModelFileError",
    "ModelFormatError",
    "DataFormatError",
    "MetricInputError",
    "ShapeMismatchError",
    "NonBinaryLabelsError",
]


class ModelFileError(ValueError):
    """A model file is not an xcsvm model, is damaged, or has another format version.

    Raised by :func:`xcsvm.load_model` / :func:`xcsvm.io.read_model` before any
    array is built from the file; the message says what is wrong and what to do.
    """


#: Former name of :class:`ModelFileError` (the same class).
ModelFormatError = ModelFileError


class DataFormatError(ValueError):
    """An input data file (svmlight) cannot be read."""


class MetricInputError(ValueError):
    """The inputs of a ranking metric (:mod:`xcsvm.metrics`) cannot be evaluated: ``k`` out
    of range, NaN or sparse scores, bad propensities. Base class of the two below."""


class ShapeMismatchError(MetricInputError):
    """Label indicator, scores (or propensities) disagree in shape, or hold no samples."""


class NonBinaryLabelsError(MetricInputError):
    """A label indicator matrix holds values other than 0 and 1."""
