"""Saving and loading models without pickle: one ``.npz`` with arrays and JSON metadata.

Layout of the archive (format version :data:`FORMAT_VERSION`):

``metadata``
    0-d unicode array holding a JSON object: ``format`` (``"xcsvm-model"``),
    ``format_version``, ``formulation`` (``"ww"``, ``"llw"``, ``"cs"``),
    ``n_features``, ``n_classes``, ``params`` (estimator parameters) and
    ``fit`` (``n_iter``, ``dual_gap``, ... when known), ``xcsvm_version``;
    optionally ``mode`` (``"multiclass"``, the default when absent, or
    ``"multilabel"``) and, for multi-label models, ``decision_rule``
    (``{"name": ..., "value": ...}``, the rule of ``predict``).
``coef_data``, ``coef_indices``, ``coef_indptr``
    ``coef_`` (n_classes, n_features) as CSR arrays (the models are sparse).
``intercept``
    float64 (n_classes,).
``classes``
    The class labels (numbers, strings or booleans; no objects).

Files are written to a temporary file in the target folder and moved into
place with :func:`os.replace`, so a failed save never leaves half a model.

Multi-label data files are read by :func:`read_svmlight_multilabel` (LIBSVM's
comma-separated labels) and :func:`read_xc_repository` (the Extreme
Classification Repository's format with its header line), both into
``(X CSR, Y 0/1 indicator CSR, labels)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from typing import TypeGuard

    from xcsvm.estimators import _MultiClassSVM

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from xcsvm._atomic import atomic_write
from xcsvm.exceptions import ModelFileError

__all__ = [
    "FORMAT_VERSION",
    "write_model",
    "read_model",
    "save_model",
    "load_model",
    "read_svmlight_multilabel",
    "read_xc_repository",
]

FORMAT_NAME = "xcsvm-model"
FORMAT_VERSION = 1
FORMULATIONS = ("ww", "llw", "cs")


def _jsonable(value: Any) -> Any:
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
    path: str | os.PathLike[str],
    *,
    coef: Any,
    intercept: npt.ArrayLike,
    classes: npt.ArrayLike,
    formulation: str,
    params: dict[str, Any] | None = None,
    fit_info: dict[str, Any] | None = None,
    mode: str = "multiclass",
    decision_rule: tuple[str, float] | None = None,
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
    mode : {"multiclass", "multilabel"}, default="multiclass"
        What the model predicts: one class, or a label set (``formulation="ww"`` only).
    decision_rule : tuple of (str, float), optional
        Multi-label mode: the rule of ``predict`` (:func:`xcsvm.multilabel.apply_decision_rule`).

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
    rule_problem = _mode_problem(mode, formulation, decision_rule)
    if rule_problem:
        raise ValueError(rule_problem)
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
        raise ValueError(
            "coef or intercept holds NaN or infinite values; such a model cannot be saved"
        )
    if n_classes > 1 and not np.all(classes[1:] > classes[:-1]):
        raise ValueError(
            "classes must be distinct and sorted (as a fitted estimator's classes_ are)"
        )
    fit_info = {
        key: None if isinstance(value, float) and not np.isfinite(value) else value
        for key, value in _jsonable(fit_info or {}).items()
    }
    from xcsvm import __version__

    metadata: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "xcsvm_version": __version__,
        "formulation": formulation,
        "n_features": int(n_features),
        "n_classes": int(n_classes),
        "params": _jsonable(params or {}),
        "fit": fit_info,
    }
    if mode != "multiclass":
        assert decision_rule is not None  # _mode_problem refused a multi-label model without one
        metadata["mode"] = mode
        metadata["decision_rule"] = {"name": decision_rule[0], "value": float(decision_rule[1])}

    def write(stream: IO[Any]) -> None:
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
_REDO = (
    "the file is damaged or was not written by xcsvm; save the model again (or restore a good copy)"
)
#: Largest metadata JSON read (bytes); real metadata is a few hundred bytes.
_MAX_METADATA = 1 << 20


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def _read_entries(path: Path) -> dict[str, np.ndarray]:
    """The arrays of the archive, each checked against its ``.npy`` header first.

    A header declaring more bytes than the entry holds (or object dtypes) is
    refused before anything is allocated; zip damage (CRC, truncation) and
    every parsing error become :class:`ModelFileError`.
    """
    import zipfile

    fmt = np.lib.format
    arrays: dict[str, np.ndarray] = {}
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
                        raise ModelFileError(
                            f"{path}: entry {name!r} has .npy version {version}; {_REDO}"
                        )
                    reader = (
                        fmt.read_array_header_1_0
                        if version == (1, 0)
                        else fmt.read_array_header_2_0
                    )
                    shape, _, dtype = reader(stream, max_header_size=10000)
                    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                        raise ModelFileError(
                            f"{path}: entry {name!r} has dtype {dtype}, not plain data; {_REDO}"
                        )
                    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    present = info.file_size - stream.tell()
                    if declared != present:
                        raise ModelFileError(
                            f"{path}: entry {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                            f"but holds {present} bytes; {_REDO}"
                        )
                    if name == "metadata" and declared > _MAX_METADATA:
                        raise ModelFileError(
                            f"{path}: metadata of {declared} bytes is not model metadata; {_REDO}"
                        )
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


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


MODES = ("multiclass", "multilabel")
DECISION_RULES = ("threshold", "relative", "top_k")


def _mode_problem(mode: Any, formulation: str, decision_rule: Any) -> str:
    """What is wrong with a (mode, formulation, decision rule) combination, or ""."""
    if mode not in MODES:
        return f"mode must be one of {MODES}, got {mode!r}"
    if mode == "multiclass":
        return "" if decision_rule is None else "a decision rule belongs to multi-label models only"
    if formulation != "ww":
        return f"multi-label models are WW models, got formulation {formulation!r}"
    if (
        not isinstance(decision_rule, (tuple, list))
        or len(decision_rule) != 2
        or decision_rule[0] not in DECISION_RULES
        or not isinstance(decision_rule[1], (int, float))
        or isinstance(decision_rule[1], bool)
        or not np.isfinite(decision_rule[1])
    ):
        return f"a multi-label model needs a decision rule (name in {DECISION_RULES}, finite value), got {decision_rule!r}"
    return ""


def _check_metadata(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    raw = arrays["metadata"]
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(
            f"{path}: metadata is a {raw.dtype} array of shape {raw.shape}, not a JSON string; {_REDO}"
        )
    try:
        metadata = json.loads(str(raw))
    except (ValueError, RecursionError) as error:
        raise ModelFileError(f"{path}: metadata is not valid JSON ({error}); {_REDO}") from error
    if not isinstance(metadata, dict):
        raise ModelFileError(
            f"{path}: metadata is a JSON {type(metadata).__name__}, not an object; {_REDO}"
        )
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
            raise ModelFileError(
                f"{path}: metadata {key}={value!r} is not an integer >= {low}; {_REDO}"
            )
    for key in ("params", "fit"):
        if not isinstance(metadata.get(key, {}), dict):
            raise ModelFileError(f"{path}: metadata {key!r} is not a JSON object; {_REDO}")
    for key in _FIT_NUMBERS:  # the facts load_model sets as attributes; others are informational
        value = metadata.get("fit", {}).get(key)
        ok = value is None or (
            _is_int(value)
            if key == "n_iter"
            else isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        if not ok or (isinstance(value, float) and not np.isfinite(value)):
            raise ModelFileError(
                f"{path}: fit information {key}={value!r} is not a finite number; {_REDO}"
            )
    mode = metadata.get("mode", "multiclass")
    rule = metadata.get("decision_rule")
    rule = (
        (rule.get("name"), rule.get("value")) if isinstance(rule, dict) and len(rule) == 2 else rule
    )
    problem = _mode_problem(mode, metadata["formulation"], rule)
    if problem:
        raise ModelFileError(f"{path}: {problem}; {_REDO}")
    return metadata


def _check_arrays(
    path: Path, arrays: dict[str, np.ndarray], n_classes: int, n_features: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], np.ndarray]:
    def fail(what: str) -> NoReturn:
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
        ("coef_data", data, "f"),
        ("coef_indices", indices, "iu"),
        ("coef_indptr", indptr, "iu"),
        ("intercept", intercept, "f"),
        ("classes", classes, "biufU"),
    ):
        if array.ndim != 1 or array.dtype.kind not in kinds:
            fail(
                f"{name} is a {array.dtype} array of shape {array.shape}, expected a 1-d array of kind {kinds!r}"
            )
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
        fail(
            "coefficient column indices are not in canonical CSR form (sorted, no duplicates, in each row)"
        )
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
        fail(
            f"coefficient arrays are not a valid CSR matrix of shape {(n_classes, n_features)} ({error})"
        )
    return coef.toarray(), intercept.astype(np.float64), classes


def read_model(path: str | os.PathLike[str]) -> dict[str, Any]:
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
    coef, intercept, classes = _check_arrays(
        path, arrays, metadata["n_classes"], metadata["n_features"]
    )
    return {
        "coef": coef,
        "intercept": intercept,
        "classes": classes,
        "formulation": metadata["formulation"],
        "mode": metadata.get("mode", "multiclass"),
        "params": metadata.get("params", {}),
        "fit": metadata.get("fit", {}),
        "metadata": metadata,
    }


def save_model(path: str | os.PathLike[str], estimator: _MultiClassSVM) -> Path:
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
        **(
            {"mode": "multilabel", "decision_rule": estimator.decision_rule_}
            if getattr(estimator, "multilabel_", False)
            else {}
        ),
    )


def load_model(path: str | os.PathLike[str]) -> _MultiClassSVM:
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
        raise ModelFileError(
            f"{path}: stored parameters are not valid ({error}); {_REDO}"
        ) from error
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
    if content["mode"] == "multilabel":
        rule = content["metadata"]["decision_rule"]
        estimator.multilabel_ = True
        estimator.decision_rule_ = (rule["name"], float(rule["value"]))
    elif content["formulation"] == "ww":
        estimator.multilabel_ = False
    return estimator


# ----------------------------------------------------------------- multi-label data files
def _label_indicator(
    path: str | os.PathLike[str],
    label_sets: Sequence[tuple[float, ...]],
    n_rows: int,
    *,
    classes: np.ndarray | None = None,
    n_labels: int | None = None,
    unknown_labels: str = "error",
) -> tuple[Any, np.ndarray]:
    """``(Y CSR int64 0/1, classes)`` from scikit-learn's multi-label tuples (sorted per row).

    Labels must be finite integers, not repeated within a sample; with ``n_labels`` (the
    XC format's header) they must lie in ``[0, n_labels)`` and column ``l`` is label ``l``;
    otherwise column ``j`` is ``classes[j]`` (default: the sorted distinct labels).
    """
    from itertools import chain

    from xcsvm.exceptions import DataFormatError

    lengths = np.fromiter((len(t) for t in label_sets), dtype=np.int64, count=n_rows)
    flat = np.fromiter(chain.from_iterable(label_sets), dtype=np.float64, count=int(lengths.sum()))
    row = np.repeat(np.arange(n_rows), lengths)
    bad = ~np.isfinite(flat) | (flat != np.round(flat))
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFormatError(
            f"{path}: sample {row[i] + 1} has label {float(flat[i])!r}; multi-label labels must be integers"
        )
    repeated = (flat[1:] == flat[:-1]) & (row[1:] == row[:-1])
    if repeated.any():
        i = int(np.argmax(repeated))
        raise DataFormatError(f"{path}: sample {row[i] + 1} lists label {int(flat[i])} twice")
    if n_labels is not None:
        outside = (flat < 0) | (flat >= n_labels)
        if outside.any():
            i = int(np.argmax(outside))
            raise DataFormatError(
                f"{path}: sample {row[i] + 1} has label {int(flat[i])}, outside [0, {n_labels}) "
                "declared by the header"
            )
        classes = np.arange(n_labels, dtype=np.int64)
        columns = flat.astype(np.int64)
    else:
        if classes is None:
            classes = np.unique(flat).astype(np.int64)
        columns = np.searchsorted(classes, flat)
        known = np.zeros(flat.shape, dtype=bool)
        if classes.size:
            known = classes[np.minimum(columns, classes.size - 1)] == flat
        if not known.all():
            if unknown_labels == "error":
                i = int(np.argmax(~known))
                raise DataFormatError(
                    f"{path}: sample {row[i] + 1} has label {int(flat[i])}, which is not among the "
                    f"{classes.size} given labels; pass unknown_labels='ignore' to drop such labels"
                )
            row, columns = row[known], columns[known]
    Y = sp.csr_matrix(
        (np.ones(columns.size, dtype=np.int64), (row, columns)), shape=(n_rows, classes.size)
    )
    Y.sort_indices()
    return Y, classes


def _check_features(path: str | os.PathLike[str], X: Any) -> None:
    from xcsvm.exceptions import DataFormatError

    finite = np.isfinite(X.data)
    if not finite.all():
        i = int(np.searchsorted(X.indptr, np.argmax(~finite), side="right")) - 1
        raise DataFormatError(
            f"{path}: sample {i + 1} has a NaN or infinite feature value; every value must be finite"
        )


def read_svmlight_multilabel(
    path: str | os.PathLike[str],
    *,
    zero_based: bool | str = False,
    n_features: int | None = None,
    labels: npt.ArrayLike | None = None,
    unknown_labels: str = "error",
) -> tuple[Any, Any, np.ndarray]:
    """Read a multi-label svmlight/LIBSVM file: comma-separated labels, then ``index:value`` pairs.

    The format of LIBSVM's multi-label data sets (scene, yeast, rcv1v2, ...): a sample's
    labels are comma-separated integers, possibly none (the line then starts with a
    feature). Parsed by :func:`sklearn.datasets.load_svmlight_file` with
    ``multilabel=True``, then validated: labels finite integers, none repeated within a
    sample; feature values finite.

    Parameters
    ----------
    path : str or Path
        The file.
    zero_based : bool or "auto", default=False
        LIBSVM files are one-based.
    n_features : int, optional
        Fixes the width, as :func:`xcsvm.cli.read_svmlight` does: columns beyond it are
        dropped (features a model never saw), missing ones padded.
    labels : array-like of int, optional
        The label of each column of ``Y``, sorted (e.g. the ``labels`` returned for the
        training file, so that a test file gets the same columns). Default: the sorted
        distinct labels of this file.
    unknown_labels : {"error", "ignore"}, default="error"
        What to do with a label that is not in ``labels``.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_samples, n_features), float64
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels), int64
        0/1 indicator; ``Y[i, j] = 1`` when sample ``i`` carries label ``labels[j]``.
    labels : ndarray of shape (n_labels,), int64

    Raises
    ------
    DataFormatError
        Malformed file, no samples, non-integer/repeated/unknown labels, NaN or infinite
        values.

    Examples
    --------
    >>> import os, tempfile
    >>> from xcsvm.io import read_svmlight_multilabel
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.svm")
    >>> _ = open(path, "w").write("3,7 1:0.5 4:1\\n7 2:2\\n 1:1\\n")
    >>> X, Y, labels = read_svmlight_multilabel(path)
    >>> X.shape, Y.toarray().tolist(), labels.tolist()
    ((3, 4), [[1, 1], [0, 1], [0, 0]], [3, 7])
    """
    from sklearn.datasets import load_svmlight_file

    from xcsvm.exceptions import DataFormatError

    if unknown_labels not in ("error", "ignore"):
        raise ValueError(f"unknown_labels must be 'error' or 'ignore', got {unknown_labels!r}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or np.any(np.diff(labels) <= 0):
            raise ValueError(
                "labels must be a sorted 1-d array of distinct integers (as returned for the training file)"
            )
        labels = labels.astype(np.int64)
    try:
        X, label_sets = load_svmlight_file(
            str(path), zero_based=zero_based, dtype=np.float64, multilabel=True
        )
    except FileNotFoundError:
        raise
    except OverflowError as error:
        raise DataFormatError(
            f"{path}: feature index too large ({error}); svmlight feature indices must be at most "
            f"{np.iinfo(np.int32).max}: renumber the features"
        ) from error
    except (ValueError, RuntimeError, UnicodeDecodeError) as error:
        hint = (
            " (indices start at 0 here: pass zero_based=True)"
            if "index 0" in str(error).lower()
            else ""
        )
        raise DataFormatError(
            f"{path} is not a valid multi-label svmlight/LIBSVM file: {error}{hint}"
        ) from error
    if X.shape[0] == 0:
        raise DataFormatError(f"{path} contains no samples")
    X = sp.csr_matrix(X)
    _check_features(path, X)
    if n_features is not None and X.shape[1] != n_features:
        if X.shape[1] > n_features:
            X = X[:, :n_features]
        else:
            X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_features))
    Y, labels = _label_indicator(
        path, label_sets, X.shape[0], classes=labels, unknown_labels=unknown_labels
    )
    return X, Y, labels


def read_xc_repository(path: str | os.PathLike[str]) -> tuple[Any, Any, np.ndarray]:
    """Read a file in the Extreme Classification Repository's sparse format.

    The first line is ``n_points n_features n_labels``; each further line is
    ``l1,l2,... f:v f:v ...`` with zero-based label and feature indices (a sample without
    labels starts with a space). Everything is checked against the header: the number of
    samples, feature indices ``< n_features``, labels in ``[0, n_labels)`` and not repeated;
    feature values must be finite.

    Parameters
    ----------
    path : str or Path
        E.g. ``train.txt`` of EURLex-4K or Wiki10-31K.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_points, n_features), float64
    Y : scipy.sparse.csr_matrix of shape (n_points, n_labels), int64
        0/1 indicator; column ``l`` is label ``l``.
    labels : ndarray of shape (n_labels,), int64
        ``0 .. n_labels - 1``.

    Raises
    ------
    DataFormatError
        A header that is not three integers, or any disagreement with it.

    Examples
    --------
    >>> import os, tempfile
    >>> from xcsvm.io import read_xc_repository
    >>> path = os.path.join(tempfile.mkdtemp(), "train.txt")
    >>> _ = open(path, "w").write("2 5 3\\n0,2 0:0.5 4:1\\n1 3:2\\n")
    >>> X, Y, labels = read_xc_repository(path)
    >>> X.shape, Y.toarray().tolist()
    ((2, 5), [[1, 0, 1], [0, 1, 0]])
    """
    from sklearn.datasets import load_svmlight_file

    from xcsvm.exceptions import DataFormatError

    with open(path, "rb") as stream:
        header = stream.readline(256)
        fields = header.split()
        too_long = len(header) == 256 and not header.endswith(b"\n")
        if too_long or len(fields) != 3 or not all(f.isdigit() for f in fields):
            raise DataFormatError(
                f"{path}: the first line must be 'n_points n_features n_labels' (Extreme Classification "
                f"Repository format), got {header[:80]!r}"
            )
        n_points, n_features, n_labels = (int(f) for f in fields)
        if n_features < 1 or n_labels < 1:
            raise DataFormatError(
                f"{path}: header declares {n_features} features and {n_labels} labels; both must be >= 1"
            )
        try:
            X, label_sets = load_svmlight_file(
                stream, zero_based=True, n_features=n_features, dtype=np.float64, multilabel=True
            )
        except OverflowError as error:
            raise DataFormatError(
                f"{path}: feature index too large for the header's {n_features} features ({error})"
            ) from error
        except (ValueError, RuntimeError, UnicodeDecodeError) as error:
            if "n_features was set" in str(error):
                raise DataFormatError(
                    f"{path}: a feature index is >= n_features={n_features} declared by the header ({error})"
                ) from error
            raise DataFormatError(
                f"{path} is not a valid Extreme Classification Repository file: {error}"
            ) from error
    if X.shape[0] != n_points:
        raise DataFormatError(
            f"{path}: the header declares {n_points} points but the file holds {X.shape[0]} "
            "(truncated or concatenated file?)"
        )
    X = sp.csr_matrix(X)
    _check_features(path, X)
    Y, labels = _label_indicator(path, label_sets, n_points, n_labels=n_labels)
    return X, Y, labels
