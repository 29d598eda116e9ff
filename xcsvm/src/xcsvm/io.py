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
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from xcsvm.exceptions import ModelFormatError

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
    coef = sp.csr_matrix(coef, dtype=np.float64)
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
    from xcsvm import __version__

    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "xcsvm_version": __version__,
        "formulation": formulation,
        "n_features": int(n_features),
        "n_classes": int(n_classes),
        "params": _jsonable(params or {}),
        "fit": _jsonable(fit_info or {}),
    }
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write model to {path}: folder {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(
                stream,
                metadata=np.array(json.dumps(metadata)),
                coef_data=coef.data,
                coef_indices=coef.indices.astype(np.int64),
                coef_indptr=coef.indptr.astype(np.int64),
                intercept=intercept,
                classes=classes,
            )
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def read_model(path) -> dict:
    """Read a model file into plain arrays.

    Returns
    -------
    dict
        ``coef`` (dense float64 (n_classes, n_features)), ``intercept``,
        ``classes``, ``formulation``, ``params``, ``fit`` and the whole
        ``metadata``.

    Raises
    ------
    ModelFormatError
        If the file is not an xcsvm model or has another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as error:
        raise ModelFormatError(f"{path} is not an xcsvm model file (.npz): {error}") from error
    if "metadata" not in arrays:
        raise ModelFormatError(f"{path} has no 'metadata' entry; it was not written by xcsvm")
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except json.JSONDecodeError as error:
        raise ModelFormatError(f"{path}: metadata is not valid JSON ({error})") from error
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path} is not an xcsvm model (format={metadata.get('format')!r})")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path} has model format version {version}, this xcsvm reads version {FORMAT_VERSION}; "
            "retrain the model or load it with the xcsvm version that wrote it "
            f"({metadata.get('xcsvm_version', 'unknown')})"
        )
    missing = {"coef_data", "coef_indices", "coef_indptr", "intercept", "classes"} - set(arrays)
    if missing:
        raise ModelFormatError(f"{path} lacks the entries {sorted(missing)}")
    shape = (metadata["n_classes"], metadata["n_features"])
    try:
        coef = sp.csr_matrix(
            (arrays["coef_data"], arrays["coef_indices"], arrays["coef_indptr"]), shape=shape
        ).toarray()
    except ValueError as error:
        raise ModelFormatError(f"{path}: coefficient arrays do not match shape {shape} ({error})") from error
    if metadata.get("formulation") not in FORMULATIONS:
        raise ModelFormatError(f"{path}: unknown formulation {metadata.get('formulation')!r}")
    return {
        "coef": coef,
        "intercept": arrays["intercept"],
        "classes": arrays["classes"],
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
    """Load a model written by :func:`save_model` or :func:`write_model` as an estimator."""
    from xcsvm.estimators import estimator_class

    content = read_model(path)
    cls = estimator_class(content["formulation"])
    valid = cls().get_params()
    params = {k: v for k, v in content["params"].items() if k in valid}
    estimator = cls(**params)
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
