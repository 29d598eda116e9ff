"""Typed errors of xcsvm."""

__all__ = ["ModelFormatError", "DataFormatError"]


class ModelFormatError(ValueError):
    """A model file is not an xcsvm model, is damaged, or has another format version."""


class DataFormatError(ValueError):
    """An input data file (svmlight) cannot be read."""
