"""Typed errors of xcsvm."""

__all__ = ["ModelFileError", "ModelFormatError", "DataFormatError"]


class ModelFileError(ValueError):
    """A model file is not an xcsvm model, is damaged, or has another format version.

    Raised by :func:`xcsvm.load_model` / :func:`xcsvm.io.read_model` before any
    array is built from the file; the message says what is wrong and what to do.
    """


#: Former name of :class:`ModelFileError` (the same class).
ModelFormatError = ModelFileError


class DataFormatError(ValueError):
    """An input data file (svmlight) cannot be read."""
