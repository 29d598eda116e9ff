"""shared-datasets: how every dataset of the xcsvm, rbkernels and innvestigate studies is
found, fetched, cached and loaded.

Examples
--------
>>> import shared_datasets
>>> X_train, y_train, X_test, y_test = shared_datasets.load("wine", preprocessing="unit_variance")
>>> X_train.shape
(160, 13)
"""

from .api import fetch, info, list_datasets, load
from .catalog import DatasetInfo
from .errors import (
    CacheFolderError,
    CacheRepairWarning,
    ChecksumMismatchError,
    DatasetError,
    DownloadError,
    InsufficientMemoryError,
    InvalidParameterError,
    MalformedDataError,
    ManualDownloadRequiredError,
    NoNetworkError,
    OfflineDataMissingError,
    UnknownDatasetError,
    UnsafeArchiveError,
)
from .paths import data_home
from .planted import make_planted_patches, make_planted_tokens
from .preprocessing import preprocess
from .synthetic import make_lshtc_like, make_signal_distractor
from .synthetic_multilabel import make_lshtc_multilabel

__version__ = "0.1.0"

__all__ = [
    "load",
    "fetch",
    "list_datasets",
    "info",
    "DatasetInfo",
    "data_home",
    "preprocess",
    "make_lshtc_like",
    "make_lshtc_multilabel",
    "make_signal_distractor",
    "make_planted_tokens",
    "make_planted_patches",
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
