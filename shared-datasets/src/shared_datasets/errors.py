"""Typed errors of shared-datasets: every failure a user can fix has its own class.

All derive from :class:`DatasetError`, so ``except DatasetError`` catches any of them.
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "UnknownDatasetError",
    "InvalidParameterError",
    "OfflineDataMissingError",
    "ManualDownloadRequiredError",
    "DownloadError",
    "NoNetworkError",
    "ChecksumMismatchError",
    "MalformedDataError",
    "UnsafeArchiveError",
    "CacheFolderError",
    "InsufficientMemoryError",
    "CacheRepairWarning",
]


class DatasetError(Exception):
    """Base class of every error raised by shared-datasets.

    Examples
    --------
    >>> import shared_datasets
    >>> try:
    ...     shared_datasets.load("no-such-set")
    ... except shared_datasets.DatasetError as error:
    ...     print(type(error).__name__)
    UnknownDatasetError
    """


class UnknownDatasetError(DatasetError, KeyError):
    """The dataset name is not in the registry; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(DatasetError, ValueError):
    """An argument of ``load``/a generator is out of range or of the wrong kind."""


class OfflineDataMissingError(DatasetError, FileNotFoundError):
    """An offline dataset's files are not installed; the message says how to install them."""


class ManualDownloadRequiredError(DatasetError, FileNotFoundError):
    """The dataset cannot be downloaded automatically (e.g. LSHTC needs an account);
    the message says exactly which files to place where."""


class DownloadError(DatasetError, OSError):
    """A download failed (HTTP error, interrupted transfer). Nothing partial is left in the cache."""


class NoNetworkError(DownloadError):
    """The server could not be reached; the message says which file to place where instead."""


class ChecksumMismatchError(DownloadError):
    """The downloaded file's SHA-256 differs from the registry's; the file was removed."""


class MalformedDataError(DatasetError, ValueError):
    """A data file could not be parsed; the message names the file (and line, where known)."""


class UnsafeArchiveError(DatasetError, ValueError):
    """An archive member would be written outside the extraction folder (absolute path, '..', link)."""


class CacheFolderError(DatasetError, OSError):
    """The cache folder cannot be used: it is a file, or it (or a parent) is not writable.
    The message names the folder and says how to fix it (``SHARED_DATASETS_HOME``)."""


class InsufficientMemoryError(DatasetError, MemoryError):
    """A request would need more memory than the machine has available; the message gives
    the estimate and what is available, so the request can be made smaller."""


class CacheRepairWarning(UserWarning):
    """A cached file failed validation (wrong row count, truncated, an HTML page); it was
    removed and is being fetched again."""
