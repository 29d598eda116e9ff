# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Sparse helpers shared by all formulations: row norms and decision scores.

``row_sq_norms(data, indices, indptr, bias)`` returns ``||x_i||^2 + bias^2``
(float64, n). ``decision_scores(data, indices, indptr, W, bias, out,
n_threads)`` writes ``out[i, r] = W[r] . x_i (+ bias * W[r, -1])`` for a
float64 (n, R) ``out``, parallel over samples, without converting X to
float64. Arrays follow the contract of :mod:`xcsvm.solvers.ww`.
"""
from cython.parallel cimport prange

import numpy as np

from xcsvm.solvers._sparse cimport floating_t, index_t, sparse_dot


def row_sq_norms(const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr, double bias=0.0):
    """Squared row norms of a CSR matrix plus ``bias**2``."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, k
    cdef double[::1] out = np.empty(n)
    cdef double total
    with nogil:
        for i in range(n):
            total = bias * bias
            for k in range(indptr[i], indptr[i + 1]):
                total += <double> data[k] * <double> data[k]
            out[i] = total
    return np.asarray(out)


def decision_scores(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[:, ::1] W, double bias, double[:, ::1] out, int n_threads=1,
):
    """``out[i, r] = W[r] . x_i`` (with the intercept column when ``bias != 0``)."""
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, r, n_rows = W.shape[0]
    cdef Py_ssize_t bias_col = W.shape[1] - 1, stride = W.shape[1]
    if out.shape[0] != n or out.shape[1] != n_rows:
        raise ValueError("out must have shape (n_samples, W.shape[0])")
    if n == 0 or n_rows == 0:
        return np.asarray(out)
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    with nogil:
        # Each sample's row of ``out`` is written by one thread only.
        for i in prange(n, schedule="static", num_threads=n_threads):
            for r in range(n_rows):
                out[i, r] = sparse_dot(
                    data_ptr, indices_ptr, indptr[i], indptr[i + 1],
                    &W[0, 0] + r * stride, bias, bias_col,
                )
    return np.asarray(out)
