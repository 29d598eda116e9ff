"""Training data on every rank: loading, identity check across ranks, broadcast.

Every rank holds the whole training set X (the model W, not the data, is
what gets split). Two ways to get it there:

* ``"check"``: every rank reads the same svmlight file itself, then the ranks
  compare a SHA-256 digest of the parsed arrays (one 32-byte ``Allgather``);
  a rank that read something different stops the job with a message naming
  both digests.
* ``"broadcast"``: rank 0 reads the file and sends the CSR arrays with buffer
  ``Bcast`` calls; the others never touch the file system.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Problem", "prepare_problem", "load_svmlight_everywhere", "digest_arrays"]


@dataclass
class Problem:
    """A training set laid out for the sweeps (CSR, samples grouped by class).

    Attributes
    ----------
    data, indices, indptr : numpy.ndarray
        CSR arrays of X (float64, int32, int64).
    n_samples, n_features : int
        Shape of X.
    classes : numpy.ndarray
        Sorted distinct labels; class ``c`` is ``classes[c]``.
    labels : numpy.ndarray of int64
        Class index of every sample.
    class_ptr, class_samples : numpy.ndarray of int64
        Samples of class ``c`` are ``class_samples[class_ptr[c]:class_ptr[c + 1]]``.
    sqnorm : numpy.ndarray of float64
        ``x_i^T x_i`` (the ``k_i`` of Algorithms 2 and 3).
    upper : numpy.ndarray of float64
        Box bound of every dual variable of sample ``i``: ``C * sample_weight_i``.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_samples: int
    n_features: int
    classes: np.ndarray
    labels: np.ndarray
    class_ptr: np.ndarray
    class_samples: np.ndarray
    sqnorm: np.ndarray
    upper: np.ndarray

    @property
    def n_classes(self) -> int:
        return int(self.classes.size)

    @property
    def class_counts(self) -> np.ndarray:
        return np.diff(self.class_ptr)

    def matrix(self) -> sp.csr_matrix:
        """X as a scipy CSR matrix sharing the arrays."""
        return sp.csr_matrix((self.data, self.indices, self.indptr),
                             shape=(self.n_samples, self.n_features))


def prepare_problem(X, y, C: float = 1.0, sample_weight=None, fit_intercept: bool = False,
                    intercept_scaling: float = 1.0) -> Problem:
    """Check ``X, y`` and lay them out for the distributed sweeps.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (n_samples, n_features)
        Training data; converted to CSR float64.
    y : array-like, shape (n_samples,)
        Labels (any sortable values).
    C : float
        Regularisation parameter, > 0.
    sample_weight : array-like, optional
        Non-negative weights; the dual box of sample ``i`` is ``[0, C w_i]``.
    fit_intercept : bool
        Append a constant feature ``intercept_scaling`` (the intercept is the
        last row of ``coef_``'s transpose).
    intercept_scaling : float
        Value of the appended feature.

    Returns
    -------
    Problem

    Raises
    ------
    ValueError
        Empty data, NaN/inf, shape mismatch, fewer than two classes,
        ``C <= 0``, negative sample weights.

    Examples
    --------
    >>> problem = prepare_problem([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], ["b", "a", "b"])
    >>> problem.classes.tolist(), problem.class_samples.tolist(), problem.sqnorm.tolist()
    (['a', 'b'], [1, 0, 2], [1.0, 4.0, 2.0])
    """
    if not np.isfinite(C) or C <= 0:
        raise ValueError(f"C must be a positive finite number, got {C!r}")
    matrix = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else sp.csr_matrix(
        np.asarray(X, dtype=np.float64))
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"X has shape {matrix.shape}; xcsvm needs at least one sample and one feature")
    if not np.all(np.isfinite(matrix.data)):
        raise ValueError("X contains NaN or infinity; remove or impute those entries first")
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != matrix.shape[0]:
        raise ValueError(f"y has shape {y.shape} but X has {matrix.shape[0]} rows; "
                         "pass one label per sample")
    if fit_intercept:
        column = sp.csr_matrix(np.full((matrix.shape[0], 1), float(intercept_scaling)))
        matrix = sp.hstack([matrix, column], format="csr")
    matrix.sum_duplicates()
    matrix.sort_indices()
    if matrix.shape[1] >= 2**31:
        raise ValueError(f"X has {matrix.shape[1]} features; at most 2**31 - 1 are supported")
    classes, labels = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(f"y has {classes.size} class; a multi-class SVM needs at least two")
    weights = np.ones(matrix.shape[0]) if sample_weight is None else np.asarray(
        sample_weight, dtype=np.float64)
    if weights.shape != (matrix.shape[0],):
        raise ValueError(f"sample_weight has shape {weights.shape}; expected ({matrix.shape[0]},)")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    labels = labels.astype(np.int64)
    class_samples = np.argsort(labels, kind="stable").astype(np.int64)
    class_ptr = np.zeros(classes.size + 1, dtype=np.int64)
    class_ptr[1:] = np.cumsum(np.bincount(labels, minlength=classes.size))
    return Problem(
        data=np.ascontiguousarray(matrix.data, dtype=np.float64),
        indices=np.ascontiguousarray(matrix.indices, dtype=np.int32),
        indptr=np.ascontiguousarray(matrix.indptr, dtype=np.int64),
        n_samples=int(matrix.shape[0]),
        n_features=int(matrix.shape[1]),
        classes=classes,
        labels=labels,
        class_ptr=class_ptr,
        class_samples=class_samples,
        sqnorm=np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel(),
        upper=float(C) * weights,
    )


def digest_arrays(*arrays) -> bytes:
    """SHA-256 over the dtype, shape and bytes of each array.

    Examples
    --------
    >>> digest_arrays(np.arange(3)) == digest_arrays(np.arange(3))
    True
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.view(np.uint8).reshape(-1).tobytes() if array.size else b"")
    return digest.digest()


def _read_svmlight(path, n_features):
    from sklearn.datasets import load_svmlight_file

    if not os.path.isfile(path):
        raise FileNotFoundError(f"training file {path!r} does not exist")
    try:
        X, y = load_svmlight_file(path, n_features=n_features, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path!r} is not a valid svmlight file: {error}") from error
    return X.tocsr(), y


def load_svmlight_everywhere(path, comm, mode: str = "check", n_features=None):
    """Give every rank the same ``(X, y)`` from an svmlight file.

    Parameters
    ----------
    path : str or path-like
        The svmlight file.
    comm : CountingComm
        Communicator (counts the broadcast bytes under ``"data"``).
    mode : {"check", "broadcast"}
        ``"check"``: every rank reads ``path`` and the parsed arrays are
        compared by digest; ``"broadcast"``: rank 0 reads and broadcasts.
    n_features : int, optional
        Number of features (default: inferred from the file).

    Returns
    -------
    (scipy.sparse.csr_matrix, numpy.ndarray)

    Raises
    ------
    RuntimeError
        In ``"check"`` mode, when this rank's data differs from rank 0's.

    Examples
    --------
    >>> import tempfile, os
    >>> from mpi4py import MPI
    >>> from xcsvm.distributed.exchange import CountingComm
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.svm")
    >>> _ = open(path, "w").write("1 1:0.5\\n2 2:1.5\\n")
    >>> X, y = load_svmlight_everywhere(path, CountingComm(MPI.COMM_SELF))
    >>> X.toarray().tolist(), y.tolist()
    ([[0.5, 0.0], [0.0, 1.5]], [1.0, 2.0])
    """
    path = os.fspath(path)
    if mode == "check":
        X, y = _read_svmlight(path, n_features)
        mine = np.frombuffer(digest_arrays(X.data, X.indices.astype(np.int64),
                                           X.indptr.astype(np.int64), y,
                                           np.array(X.shape, dtype=np.int64)), dtype=np.uint8)
        everyone = np.empty((comm.size, mine.size), dtype=np.uint8)
        comm.comm.Allgather(mine, everyone)
        comm.bytes_sent["data"] += mine.nbytes
        if not np.array_equal(everyone[comm.rank], everyone[0]):
            raise RuntimeError(
                f"rank {comm.rank} read {path!r} with digest {everyone[comm.rank].tobytes().hex()[:16]}… "
                f"but rank 0 read digest {everyone[0].tobytes().hex()[:16]}…; every rank must see "
                "the same training file (or use --data-mode broadcast)")
        return X, y
    if mode != "broadcast":
        raise ValueError(f"data mode must be 'check' or 'broadcast', got {mode!r}")
    # Rank 0 reads; a read error there must stop the job, which the caller's
    # abort_on_error does. Sizes first, then the arrays.
    if comm.rank == 0:
        X, y = _read_svmlight(path, n_features)
        sizes = np.array([X.shape[0], X.shape[1], X.nnz], dtype=np.int64)
    else:
        sizes = np.empty(3, dtype=np.int64)
    comm.bcast(sizes, kind="data")
    n_rows, n_cols, nnz = (int(v) for v in sizes)
    if comm.rank == 0:
        data = np.ascontiguousarray(X.data, dtype=np.float64)
        indices = np.ascontiguousarray(X.indices, dtype=np.int64)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
        labels = np.ascontiguousarray(y, dtype=np.float64)
    else:
        data, indices = np.empty(nnz), np.empty(nnz, dtype=np.int64)
        indptr, labels = np.empty(n_rows + 1, dtype=np.int64), np.empty(n_rows)
    for array in (data, indices, indptr, labels):
        comm.bcast(array, kind="data")
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
    return X, labels
