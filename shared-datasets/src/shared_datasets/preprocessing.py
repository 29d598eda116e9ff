"""The thesis' feature preprocessing (Section III.5.2): fitted on the training set, applied to both.

=================  ===========================================================  =============
name               what                                                          sparse input
=================  ===========================================================  =============
``"unit_norm"``    every row scaled to Euclidean norm 1 (rows of norm 0 kept)   yes
``"unit_variance"`` every feature centred and scaled to variance 1 on train     scaled only,
                                                                                  not centred
``"minmax"``       every feature mapped affinely so train spans [-1, 1]         max-abs to
                                                                                  [-1, 1]
``"center"``       every feature's train mean subtracted                         refused
=================  ===========================================================  =============

Sparse matrices are never densified behind the caller's back: centring would, so for
sparse input ``"unit_variance"`` only divides by the standard deviation and ``"minmax"``
divides by the maximum absolute value (both keep zeros zero), and ``"center"`` raises.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, Normalizer, StandardScaler

from .errors import InvalidParameterError

__all__ = ["PREPROCESSING", "preprocess"]

PREPROCESSING = ("unit_norm", "unit_variance", "minmax", "center")


def _scaler(method: str, sparse: bool) -> Any:
    if method == "unit_norm":
        return Normalizer(norm="l2")
    if method == "unit_variance":
        return StandardScaler(with_mean=not sparse)
    if method == "minmax":
        return MaxAbsScaler() if sparse else MinMaxScaler(feature_range=(-1.0, 1.0))
    if method == "center":
        if sparse:
            raise InvalidParameterError(
                "preprocessing='center' would turn a sparse matrix dense; "
                "load with as_sparse=False to centre it, or use 'unit_variance'/'unit_norm'"
            )
        return StandardScaler(with_std=False)
    raise InvalidParameterError(
        f"unknown preprocessing {method!r}; valid: None or one of {', '.join(PREPROCESSING)}"
    )


def preprocess(X_train: Any, X_test: Any, method: str | None) -> tuple[Any, Any]:
    """Fit ``method`` on ``X_train`` and apply it to ``X_train`` and ``X_test``.

    Parameters
    ----------
    X_train, X_test : ndarray or scipy.sparse CSR matrix
        Training and test features with the same number of columns.
    method : {None, "unit_norm", "unit_variance", "minmax", "center"}
        See the module docstring. ``None`` returns the inputs unchanged.

    Returns
    -------
    X_train, X_test
        Transformed copies, with the input dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from shared_datasets.preprocessing import preprocess
    >>> Xtr, Xte = preprocess(np.array([[0.0, 2.0], [2.0, 4.0]]), np.array([[1.0, 3.0]]), "minmax")
    >>> Xtr.tolist(), Xte.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [[0.0, 0.0]])
    """
    if method is None:
        return X_train, X_test
    if not isinstance(method, str):
        raise InvalidParameterError(
            f"preprocessing must be None or a string, got {type(method).__name__}"
        )
    sparse = sp.issparse(X_train)
    scaler = _scaler(method, sparse)
    X_train_out = scaler.fit_transform(X_train)
    X_test_out = scaler.transform(X_test) if X_test.shape[0] else X_test.copy()
    if not sparse:
        X_train_out = np.asarray(X_train_out, dtype=X_train.dtype)
        X_test_out = np.asarray(X_test_out, dtype=X_train.dtype)
    return X_train_out, X_test_out
