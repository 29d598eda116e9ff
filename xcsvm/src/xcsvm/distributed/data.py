"""Training data on every rank: loading, identity check across ranks, broadcast.

Every rank holds the whole training set X (the model W, not the data, is
what gets split); it is validated and prepared by the estimators' boundary
(:func:`xcsvm.solvers.problem.prepare_problem`). Two ways to get it there:

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

import numpy as np
import scipy.sparse as sp

__all__ = ["load_svmlight_everywhere", "digest_arrays"]


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
        mine = np.frombuffer(
            digest_arrays(
                X.data,
                X.indices.astype(np.int64),
                X.indptr.astype(np.int64),
                y,
                np.array(X.shape, dtype=np.int64),
            ),
            dtype=np.uint8,
        )
        everyone = np.empty((comm.size, mine.size), dtype=np.uint8)
        comm.comm.Allgather(mine, everyone)
        comm.bytes_sent["data"] += mine.nbytes
        if not np.array_equal(everyone[comm.rank], everyone[0]):
            raise RuntimeError(
                f"rank {comm.rank} read {path!r} with digest {everyone[comm.rank].tobytes().hex()[:16]}… "
                f"but rank 0 read digest {everyone[0].tobytes().hex()[:16]}…; every rank must see "
                "the same training file (or use --data-mode broadcast)"
            )
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
