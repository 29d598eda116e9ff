"""The one entry point: ``load(name, ...)``, ``list_datasets()``, ``info(name)``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import catalog
from .errors import InvalidParameterError, UnknownDatasetError
from .memory import check_memory
from .offline import OFFLINE_LOADERS
from .offline import class_names as offline_class_names
from .preprocessing import preprocess
from .splitting import SPLIT_SEED, split_90_10
from .synthetic import LSHTC_SHAPES, make_lshtc_like, make_signal_distractor
from .synthetic_multilabel import make_lshtc_multilabel

__all__ = ["load", "list_datasets", "info", "fetch"]

# Densifying beyond this many bytes is refused instead of exhausting memory.
MAX_DENSE_BYTES = 8 * 2**30


def _remote() -> ModuleType:
    from . import remote  # imported lazily: it pulls in pooch

    return remote


def _all_infos() -> dict[str, catalog.DatasetInfo]:
    infos: dict[str, catalog.DatasetInfo] = {}
    infos.update(catalog.OFFLINE)
    infos.update(catalog.GENERATORS)
    infos.update(_remote().REMOTE_INFOS)
    return infos


def list_datasets(kind: str | None = None) -> list[str]:
    """Names accepted by :func:`load`, sorted.

    Parameters
    ----------
    kind : {None, "offline", "generator", "remote", "manual"}
        Only names of this kind; ``None`` lists all.

    Examples
    --------
    >>> import shared_datasets
    >>> "letter" in shared_datasets.list_datasets("offline")
    True
    """
    infos = _all_infos()
    kinds = {i.kind for i in infos.values()}
    if kind is not None and kind not in kinds:
        raise InvalidParameterError(f"kind must be None or one of {sorted(kinds)}, got {kind!r}")
    return sorted(n for n, i in infos.items() if kind is None or i.kind == kind)


def _unknown(name: object) -> UnknownDatasetError:
    return UnknownDatasetError(
        f"unknown dataset {name!r}; valid names: {', '.join(list_datasets())}"
    )


def info(name: str) -> catalog.DatasetInfo:
    """Metadata of dataset ``name``: kind, source, licence, split, sizes and class names.

    For offline datasets the class names are read from the data where they are stored
    there (label ``k`` is ``class_names[k]``), which takes up to a second.

    Examples
    --------
    >>> import shared_datasets
    >>> shared_datasets.info("letter").class_names[:3]
    ('A', 'B', 'C')
    """
    infos = _all_infos()
    if not isinstance(name, str) or name not in infos:
        raise _unknown(name)
    meta = infos[name]
    if name in OFFLINE_LOADERS:
        meta = dataclasses.replace(meta, class_names=offline_class_names(name))
    return meta


def _convert(X: Any, as_sparse: bool | None) -> Any:
    if as_sparse is None:
        return X
    if as_sparse is True:
        return X.tocsr() if sp.issparse(X) else sp.csr_matrix(X)
    if as_sparse is False:
        if not sp.issparse(X):
            return X
        n_bytes = X.shape[0] * X.shape[1] * X.dtype.itemsize
        if n_bytes > MAX_DENSE_BYTES:
            raise InvalidParameterError(
                f"as_sparse=False would allocate {n_bytes / 2**30:.1f} GiB for a {X.shape} matrix; "
                "keep it sparse (as_sparse=None) or load fewer samples/features"
            )
        check_memory(
            n_bytes,
            f"as_sparse=False for a {X.shape} matrix",
            hint="keep it sparse (as_sparse=None) or load fewer samples/features",
        )
        return X.toarray()
    raise InvalidParameterError(f"as_sparse must be None, True or False, got {as_sparse!r}")


def _load_generator(name: str, params: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    params = dict(params)
    shape_of = params.pop("shape_of", None)
    if shape_of is not None:
        if name != "lshtc_like" or shape_of not in LSHTC_SHAPES:
            raise InvalidParameterError(
                f"shape_of applies to lshtc_like and must be one of {sorted(LSHTC_SHAPES)}, got {shape_of!r}"
            )
        if {"n_samples", "n_features", "n_classes", "test_size"} & set(params):
            raise InvalidParameterError(
                "shape_of sets n_samples, n_features, n_classes and test_size; pass none of them"
            )
        n_train, n_test, n_classes, n_features = LSHTC_SHAPES[shape_of]
        params.update(n_samples=n_train + n_test, n_features=n_features, n_classes=n_classes)
        params["test_size"] = n_test / (n_train + n_test)
    test_size = params.pop("test_size", 0.1)
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise InvalidParameterError(f"test_size must be a float in (0, 1), got {test_size!r}")
    makers: dict[str, Callable[..., tuple[Any, ...]]] = {
        "lshtc_like": make_lshtc_like,
        "lshtc_multilabel": make_lshtc_multilabel,
        "signal_distractor": make_signal_distractor,
    }
    make = makers[name]
    if "return_hierarchy" in params:
        raise InvalidParameterError(
            "load() returns (X_train, y_train, X_test, y_test); call "
            "shared_datasets.make_lshtc_multilabel(return_hierarchy=True) for the hierarchy"
        )
    try:
        X, y = make(**params)
    except TypeError as error:  # unknown keyword
        raise InvalidParameterError(
            f"{name}: {error}; see help(shared_datasets.{make.__name__})"
        ) from error
    if sp.issparse(y):  # label sets: a seeded split (stratifying label sets is not defined)
        from sklearn.model_selection import train_test_split

        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_size, random_state=SPLIT_SEED
        )
    else:
        X_train, X_test, y_train, y_test = split_90_10(X, y, test_size=test_size)
    return X_train, y_train, X_test, y_test


def load(
    name: str, preprocessing: str | None = None, as_sparse: bool | None = None, **params: Any
) -> tuple[Any, Any, Any, Any]:
    """Load dataset ``name`` as ``(X_train, y_train, X_test, y_test)``.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`. Offline sets load without network; remote ones
        are downloaded into ``$SHARED_DATASETS_HOME`` (default: the user cache folder)
        on first use and read from there afterwards.
    preprocessing : {None, "unit_norm", "unit_variance", "minmax", "center"}
        Fitted on the training set, applied to both (see
        :mod:`shared_datasets.preprocessing`; "minmax" scales train to [-1, 1]).
    as_sparse : {None, True, False}
        ``None`` keeps the native format (dense float32 for image/UCI sets, CSR for
        svmlight/LSHTC-like data); ``True`` returns CSR; ``False`` returns dense arrays.
    **params
        Generator parameters for ``lshtc_like`` (see :func:`make_lshtc_like`),
        ``lshtc_multilabel`` (see :func:`make_lshtc_multilabel`) and
        ``signal_distractor`` (see :func:`make_signal_distractor`), plus ``test_size``
        (default 0.1); ``lshtc_like`` also takes ``shape_of="lshtc_small"`` (or
        ``lshtc_large``, ``lshtc_2011``, ``lshtc_2012``) for the sizes of Table III.2. Remote sets take ``progressbar`` (default True: a tqdm bar while
        downloading) and, for LSHTC, ``multilabel`` ("first" or "all"). Offline sets take
        no parameters.

    Returns
    -------
    X_train, y_train, X_test, y_test
        Features (float32 for dense stored sets), labels as int64 ``0..K-1``
        (``info(name).class_names[k]`` names label ``k``; float targets for
        ``signal_distractor``). Multi-label sets (``lshtc_multilabel``, ``scene``,
        ``yeast``, ``rcv1_topics``, ``eurlex_4k``, ``wiki10_31k``; LSHTC with
        ``multilabel="all"``) give ``y`` as a CSR 0/1 indicator (n_samples, n_labels).

    Raises
    ------
    UnknownDatasetError, OfflineDataMissingError, InvalidParameterError, DownloadError, ...
        All subclasses of :class:`DatasetError`, with what to do in the message.

    Examples
    --------
    >>> import shared_datasets
    >>> X_train, y_train, X_test, y_test = shared_datasets.load("iris", preprocessing="unit_norm")
    >>> X_train.shape, X_test.shape, sorted(set(y_train.tolist()))
    ((135, 4), (15, 4), [0, 1, 2])
    """
    if not isinstance(name, str):
        raise _unknown(name)
    if name in OFFLINE_LOADERS:
        if params:
            raise InvalidParameterError(
                f"dataset {name!r} takes no parameters, got {sorted(params)}"
            )
        raw = OFFLINE_LOADERS[name]()
        X_train, y_train, X_test, y_test = raw.X_train, raw.y_train, raw.X_test, raw.y_test
    elif name in catalog.GENERATORS:
        X_train, y_train, X_test, y_test = _load_generator(name, params)
    else:
        remote = _remote()
        if name not in remote.REMOTE_INFOS:
            raise _unknown(name)
        unknown = set(params) - {"progressbar", "multilabel"}
        if unknown:
            raise InvalidParameterError(
                f"dataset {name!r} takes only progressbar= and (LSHTC) multilabel=, got {sorted(unknown)}"
            )
        X_train, y_train, X_test, y_test = remote.load_remote(name, **params)
    X_train, X_test = _convert(X_train, as_sparse), _convert(X_test, as_sparse)
    X_train, X_test = preprocess(X_train, X_test, preprocessing)
    if not sp.issparse(y_train):  # LSHTC with multilabel="all" returns indicator matrices
        y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return X_train, y_train, X_test, y_test


def fetch(name: str, *, progressbar: bool = True) -> dict[str, Path]:
    """Make dataset ``name`` available locally and return ``{role: path}`` of its files.

    Remote sets are downloaded into ``data_home() / name`` (nothing is downloaded when
    they are there already); offline sets and generators need nothing and return ``{}``
    after checking that an offline set's files are installed; LSHTC sets raise
    :class:`ManualDownloadRequiredError` naming the files to place until they are there.

    Examples
    --------
    >>> import shared_datasets
    >>> shared_datasets.fetch("iris")
    {}
    """
    if not isinstance(name, str):
        raise _unknown(name)
    if name in OFFLINE_LOADERS:
        OFFLINE_LOADERS[name]()  # raises OfflineDataMissingError with instructions
        return {}
    if name in catalog.GENERATORS:
        return {}
    remote = _remote()
    if name not in remote.REMOTE:
        raise _unknown(name)
    paths: dict[str, Path] = remote.fetch(name, progressbar=progressbar)
    return paths
