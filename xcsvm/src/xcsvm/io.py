"""Saving and loading models without pickle: one ``.npz`` with arrays and JSON metadata.

Layout of the archive (format version :data:`FORMAT_VERSION`):

``metadata``
    0-d unicode array holding a JSON object: ``format`` (``"xcsvm-model"``),
    ``format_version``, ``formulation`` (``"ww"``, ``"llw"``, ``"cs"``),
    ``n_features``, ``n_classes``, ``params`` (estimator parameters) and
    ``fit`` (``n_iter``, ``dual_gap``, ... when known), ``xcsvm_version``.
``coef_data``, ``coef_indices``, ``coef_indptr``
    ``coef_`` (n_classes, n_features) as CSR arrays (the models are sparse).
``intercept``
    float64 (n_classes,).
``classes``
    The class labels (numbers, strings or booleans; no objects).

Files are written to a temporary file in the target folder and moved into
place with :func:`os.replace`, so a failed save never leaves half a model.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from xcsvm._atomic import atomic_write
from xcsvm.exceptions import ModelFileError

__all__ = ["FORMAT_VERSION", "write_model", "read_model", "save_model", "load_model"]

FORMAT_NAME = "xcsvm-model"
FORMAT_VERSION = 1
FORMULATIONS = ("ww", "llw", "cs")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store {type(value).__name__} value {value!r} in model metadata")


def write_model(
    path,
    *,
    coef,
    intercept,
    classes,
    formulation: str,
    params: dict | None = None,
    fit_info: dict | None = None,
) -> Path:
    """Write a model from plain arrays (also used by the MPI solver on rank 0).

    Parameters
    ----------
    path : str or Path
        Target file (conventionally ``*.npz``); replaced atomically.
    coef : array-like or sparse matrix of shape (n_classes, n_features)
    intercept : array-like of shape (n_classes,)
    classes : array-like of shape (n_classes,)
        Labels: numbers, strings or booleans.
    formulation : {"ww", "llw", "cs"}
    params : dict, optional
        Estimator parameters (JSON-serialisable values).
    fit_info : dict, optional
        Facts about the fit, e.g. ``{"n_iter": 12, "dual_gap": 1e-3}``.

    Returns
    -------
    Path

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> _ = write_model(path, coef=np.eye(2), intercept=np.zeros(2), classes=[3, 7], formulation="ww")
    >>> read_model(path)["classes"].tolist()
    [3, 7]
    """
    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
    coef = sp.csr_matrix(coef, dtype=np.float64, copy=True)
    coef.sum_duplicates()  # canonical form: sorted column indices, no duplicates
    intercept = np.asarray(intercept, dtype=np.float64).ravel()
    classes = np.asarray(classes)
    if classes.dtype.kind not in "biufU":
        raise TypeError(
            f"class labels of dtype {classes.dtype} cannot be saved without pickle; "
            "use numbers or strings as labels"
        )
    n_classes, n_features = coef.shape
    if intercept.shape[0] != n_classes or classes.shape != (n_classes,):
        raise ValueError(
            f"coef has {n_classes} rows but intercept has {intercept.shape[0]} entries "
            f"and classes {classes.shape[0] if classes.ndim else 0}"
        )
    if not (np.all(np.isfinite(coef.data)) and np.all(np.isfinite(intercept))):
        raise ValueError("coef or intercept holds NaN or infinite values; such a model cannot be saved")
    if n_classes > 1 and not np.all(classes[1:] > classes[:-1]):
        raise ValueError("classes must be distinct and sorted (as a fitted estimator's classes_ are)")
    fit_info = {
        key: None if isinstance(value, float) and not np.isfinite(value) else value
        for key, value in _jsonable(fit_info or {}).items()
    }
    from xcsvm import __version__

    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "xcsvm_version": __version__,
        "formulation": formulation,
        "n_features": int(n_features),
        "n_classes": int(n_classes),
        "params": _jsonable(params or {}),
        "fit": fit_info,
    }

    def write(stream):
        np.savez(
            stream,
            metadata=np.array(json.dumps(metadata)),
            coef_data=coef.data,
            coef_indices=coef.indices.astype(np.int64),
            coef_indptr=coef.indptr.astype(np.int64),
            intercept=intercept,
            classes=classes,
        )

    return atomic_write(path, write, what="model")


_FIT_NUMBERS = ("n_iter", "dual_gap", "primal_objective", "dual_objective")
_ENTRIES = ("metadata", "coef_data", "coef_indices", "coef_indptr", "intercept", "classes")
_REDO = "the file is damaged or was not written by xcsvm; save the model again (or restore a good copy)"
#: Largest metadata JSON read (bytes); real metadata is a few hundred bytes.
_MAX_METADATA = 1 << 20


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def _read_entries(path: Path) -> dict:
    """The arrays of the archive, each checked against its ``.npy`` header first.

    A header declaring more bytes than the entry holds (or object dtypes) is
    refused before anything is allocated; zip damage (CRC, truncation) and
    every parsing error become :class:`ModelFileError`.
    """
    import zipfile

    fmt = np.lib.format
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if "metadata.npy" not in names:
                raise ModelFileError(
                    f"{path} has no 'metadata' entry (entries: {names[:8]}); it was not written by xcsvm"
                )
            unknown = sorted(set(names) - {f"{name}.npy" for name in _ENTRIES})
            if unknown or len(set(names)) != len(names):
                raise ModelFileError(
                    f"{path} has unexpected or repeated entries {unknown or names}; {_REDO}"
                )
            for info in infos:
                name = info.filename[: -len(".npy")]
                with archive.open(info) as stream:
                    version = fmt.read_magic(stream)
                    if version not in ((1, 0), (2, 0), (3, 0)):
                        raise ModelFileError(f"{path}: entry {name!r} has .npy version {version}; {_REDO}")
                    reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = reader(stream, max_header_size=10000)
                    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                        raise ModelFileError(f"{path}: entry {name!r} has dtype {dtype}, not plain data; {_REDO}")
                    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    present = info.file_size - stream.tell()
                    if declared != present:
                        raise ModelFileError(
                            f"{path}: entry {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                            f"but holds {present} bytes; {_REDO}"
                        )
                    if name == "metadata" and declared > _MAX_METADATA:
                        raise ModelFileError(f"{path}: metadata of {declared} bytes is not model metadata; {_REDO}")
                with archive.open(info) as stream:
                    arrays[name] = fmt.read_array(stream, allow_pickle=False)
    except ModelFileError:
        raise
    except MemoryError as error:
        raise ModelFileError(f"{path}: an entry is too large to load ({error}); {_REDO}") from error
    except Exception as error:  # zipfile, zlib, struct, numpy header parsing: any damage
        raise ModelFileError(
            f"{path} is not an xcsvm model file (.npz) or is damaged: {type(error).__name__}: {error}; {_REDO}"
        ) from error
    return arrays


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_metadata(path, arrays) -> dict:
    raw = arrays["metadata"]
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(f"{path}: metadata is a {raw.dtype} array of shape {raw.shape}, not a JSON string; {_REDO}")
    try:
        metadata = json.loads(str(raw))
    except (ValueError, RecursionError) as error:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({error}); {_REDO}") from error
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: metadata is a JSON {type(metadata).__name__}, not an object; {_REDO}")
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{path} is not an xcsvm model (format={metadata.get('format')!r}); load a file written by "
            "xcsvm.save_model or 'xcsvm train'"
        )
    version = metadata.get("format_version")
    if version != FORMAT_VERSION or not _is_int(version):
        raise ModelFileError(
            f"{path} has model format version {version}, this xcsvm reads version {FORMAT_VERSION}; "
            "retrain the model or load it with the xcsvm version that wrote it "
            f"({metadata.get('xcsvm_version', 'unknown')})"
        )
    if metadata.get("formulation") not in FORMULATIONS:
        raise ModelFileError(
            f"{path}: unknown formulation {metadata.get('formulation')!r} (expected one of {FORMULATIONS}); {_REDO}"
        )
    for key, low in (("n_classes", 1), ("n_features", 1)):
        value = metadata.get(key)
        if not _is_int(value) or value < low:
            raise ModelFileError(f"{path}: metadata {key}={value!r} is not an integer >= {low}; {_REDO}")
    for key in ("params", "fit"):
        if not isinstance(metadata.get(key, {}), dict):
            raise ModelFileError(f"{path}: metadata {key!r} is not a JSON object; {_REDO}")
    for key in _FIT_NUMBERS:  # the facts load_model sets as attributes; others are informational
        value = metadata.get("fit", {}).get(key)
        ok = value is None or (
            _is_int(value) if key == "n_iter" else isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        if not ok or (isinstance(value, float) and not np.isfinite(value)):
            raise ModelFileError(f"{path}: fit information {key}={value!r} is not a finite number; {_REDO}")
    return metadata


def _check_arrays(path, arrays, n_classes, n_features):
    def fail(what):
        raise ModelFileError(f"{path}: {what}; {_REDO}")

    dense_bytes = 8 * n_classes * n_features
    if dense_bytes > _memory_bytes():
        fail(
            f"n_classes={n_classes} x n_features={n_features} needs {dense_bytes / 2**30:.1f} GiB as dense "
            "coefficients, more than this machine has"
        )
    data, indices, indptr = arrays["coef_data"], arrays["coef_indices"], arrays["coef_indptr"]
    intercept, classes = arrays["intercept"], arrays["classes"]
    for name, array, kinds in (
        ("coef_data", data, "f"), ("coef_indices", indices, "iu"), ("coef_indptr", indptr, "iu"),
        ("intercept", intercept, "f"), ("classes", classes, "biufU"),
    ):
        if array.ndim != 1 or array.dtype.kind not in kinds:
            fail(f"{name} is a {array.dtype} array of shape {array.shape}, expected a 1-d array of kind {kinds!r}")
    if indptr.shape[0] != n_classes + 1:
        fail(f"coef_indptr has {indptr.shape[0]} entries, expected n_classes + 1 = {n_classes + 1}")
    if data.shape != indices.shape:
        fail(f"coef_data has {data.shape[0]} entries but coef_indices {indices.shape[0]}")
    indptr = indptr.astype(np.int64, casting="unsafe") if indptr.dtype.kind == "i" else indptr
    if indptr.dtype.kind == "u" and indptr.size and indptr.max() > np.iinfo(np.int64).max:
        fail("coef_indptr holds values beyond int64")
    indptr = indptr.astype(np.int64)
    if indptr[0] != 0 or indptr[-1] != data.shape[0] or np.any(np.diff(indptr) < 0):
        fail(f"coef_indptr is not a valid row pointer (0 ... {data.shape[0]}, non-decreasing)")
    if indices.size and (indices.min() < 0 or indices.max() >= n_features):
        fail(
            f"coef_indices hold column indices in [{indices.min()}, {indices.max()}] outside "
            f"[0, n_features={n_features})"
        )
    indices = indices.astype(np.int64)
    within_row = np.ones(max(indices.size - 1, 0), dtype=bool)
    ends = indptr[1:-1] - 1  # last entry of each row but the last: no order across rows
    within_row[ends[(ends >= 0) & (ends < within_row.size)]] = False
    if np.any(np.diff(indices)[within_row] <= 0):
        fail("coefficient column indices are not in canonical CSR form (sorted, no duplicates, in each row)")
    if not np.all(np.isfinite(data)):
        fail("coef_data holds NaN or infinite coefficients")
    if intercept.shape[0] != n_classes:
        fail(f"intercept has {intercept.shape[0]} entries, expected n_classes = {n_classes}")
    if not np.all(np.isfinite(intercept)):
        fail("intercept holds NaN or infinite values")
    if classes.shape[0] != n_classes:
        fail(f"classes has {classes.shape[0]} labels, expected n_classes = {n_classes}")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes)):
        fail("classes holds NaN or infinite labels")
    if classes.size > 1 and not np.all(classes[1:] > classes[:-1]):
        fail("classes are not distinct and sorted (as a fitted estimator's classes_ are)")
    coef = sp.csr_matrix((n_classes, n_features), dtype=np.float64)
    coef.data, coef.indices, coef.indptr = data.astype(np.float64), indices, indptr
    try:
        coef.check_format(full_check=True)
    except ValueError as error:
        fail(f"coefficient arrays are not a valid CSR matrix of shape {(n_classes, n_features)} ({error})")
    return coef.toarray(), intercept.astype(np.float64), classes


def read_model(path) -> dict:
    """Read a model file into plain arrays, validating everything before building anything.

    The archive is read without pickle; every entry's ``.npy`` header is
    checked against the bytes present, then the metadata (keys, types), the
    dtypes and shapes of the arrays, the CSR structure (row pointer, column
    indices within ``n_features``), finiteness of coefficients and intercept,
    and the labels (distinct, sorted) are checked.

    Returns
    -------
    dict
        ``coef`` (dense float64 (n_classes, n_features)), ``intercept``,
        ``classes``, ``formulation``, ``params``, ``fit`` and the whole
        ``metadata``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not an xcsvm model, is damaged in any way, or has
        another format version; the message says what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    arrays = _read_entries(path)
    if "metadata" not in arrays:
        raise ModelFileError(f"{path} has no 'metadata' entry; it was not written by xcsvm")
    metadata = _check_metadata(path, arrays)
    missing = set(_ENTRIES) - set(arrays)
    if missing:
        raise ModelFileError(f"{path} lacks the entries {sorted(missing)}; {_REDO}")
    coef, intercept, classes = _check_arrays(path, arrays, metadata["n_classes"], metadata["n_features"])
    return {
        "coef": coef,
        "intercept": intercept,
        "classes": classes,
        "formulation": metadata["formulation"],
        "params": metadata.get("params", {}),
        "fit": metadata.get("fit", {}),
        "metadata": metadata,
    }


def save_model(path, estimator) -> Path:
    """Save a fitted :class:`~xcsvm.WWClassifier`, ``LLWClassifier`` or ``CSClassifier``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm import WWClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = WWClassifier(random_state=0).fit(X, y)
    >>> path = save_model(os.path.join(tempfile.mkdtemp(), "iris.npz"), model)
    >>> (load_model(path).predict(X) == model.predict(X)).all()
    np.True_
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    fit_info = {
        "n_iter": getattr(estimator, "n_iter_", None),
        "dual_gap": getattr(estimator, "dual_gap_", None),
        "primal_objective": getattr(estimator, "primal_objective_", None),
        "dual_objective": getattr(estimator, "dual_objective_", None),
    }
    return write_model(
        path,
        coef=estimator.coef_,
        intercept=estimator.intercept_,
        classes=estimator.classes_,
        formulation=estimator._formulation,
        params=estimator.get_params(),
        fit_info=fit_info,
    )


def load_model(path):
    """Load a model written by :func:`save_model` or :func:`write_model` as an estimator.

    The file is validated completely (see :func:`read_model`) before the
    estimator is built; its stored parameters must be valid parameters.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is damaged, not an xcsvm model or of another format version.
    """
    from xcsvm.estimators import estimator_class

    content = read_model(path)
    cls = estimator_class(content["formulation"])
    valid = cls().get_params()
    params = {k: v for k, v in content["params"].items() if k in valid}
    estimator = cls(**params)
    try:
        estimator._validate_params()  # sklearn's own parameter check, as fit would run it
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path}: stored parameters are not valid ({error}); {_REDO}") from error
    estimator.coef_ = content["coef"]
    estimator.intercept_ = content["intercept"]
    estimator.classes_ = content["classes"]
    estimator.n_features_in_ = content["coef"].shape[1]
    fit = content["fit"]
    estimator.n_iter_ = fit.get("n_iter")
    estimator.dual_gap_ = fit.get("dual_gap")
    estimator.primal_objective_ = fit.get("primal_objective")
    estimator.dual_objective_ = fit.get("dual_objective")
    estimator.density_ = float(np.count_nonzero(estimator.coef_)) / max(estimator.coef_.size, 1)
    return estimator
