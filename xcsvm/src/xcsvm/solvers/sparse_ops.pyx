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


#: Classes whose weights are transposed at a time by ``decision_scores``.
cdef Py_ssize_t SCORE_BLOCK = 64


def decision_scores(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[:, ::1] W, double bias, double[:, ::1] out, int n_threads=1,
):
    """``out[i, r] = W[r] . x_i`` (with the intercept column when ``bias != 0``).

    The rows of ``W`` are taken ``SCORE_BLOCK`` at a time and transposed into a
    feature-major buffer (``W.shape[1] x 64`` doubles), so that each non-zero
    of a sample reads the weights of 64 classes from contiguous memory
    instead of one cache line per class from a class-major matrix that does
    not fit in cache. Parallel over samples (each row of ``out`` has one writer).
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, r, k, j, j0, j1, b, r0
    cdef Py_ssize_t n_rows = W.shape[0], n_cols = W.shape[1]
    cdef Py_ssize_t bias_col = n_cols - 1, block = SCORE_BLOCK
    cdef double x
    cdef double* o
    cdef const double* row
    if out.shape[0] != n or out.shape[1] != n_rows:
        raise ValueError("out must have shape (n_samples, W.shape[0])")
    if n == 0 or n_rows == 0:
        return np.asarray(out)
    if n_cols == 0:
        out[:, :] = 0.0
        return np.asarray(out)
    cdef double[:, ::1] T = np.empty((n_cols, min(block, n_rows)))
    cdef double* T_ptr = &T[0, 0]
    cdef Py_ssize_t ldt = T.shape[1]
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    for r0 in range(0, n_rows, block):
        b = min(block, n_rows - r0)
        with nogil:
            # T[j, r] = W[r0 + r, j], in column chunks of 256 (one writer per chunk).
            for j0 in prange(0, n_cols, 256, schedule="static", num_threads=n_threads):
                j1 = min(j0 + 256, n_cols)
                for r in range(b):
                    for j in range(j0, j1):
                        T_ptr[j * ldt + r] = W[r0 + r, j]
            for i in prange(n, schedule="static", num_threads=n_threads):
                o = &out[i, r0]
                for r in range(b):
                    o[r] = 0.0
                for k in range(indptr[i], indptr[i + 1]):
                    x = <double> data_ptr[k]
                    row = T_ptr + indices_ptr[k] * ldt
                    for r in range(b):
                        o[r] += x * row[r]
                if bias != 0.0:
                    for r in range(b):
                        o[r] += bias * W[r0 + r, bias_col]
    return np.asarray(out)


def decision_scores_strided(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[:, :] W, double bias, double[:, ::1] out, int n_threads=1,
):
    """``out[i, r] = W[r] . x_i`` (with ``bias * W[r, -1]`` when ``bias != 0``) for ``W`` in any layout.

    Reads ``W`` through its strides, so a feature-major matrix (``W.T``
    C-contiguous, the layout of the WW and CS solvers) costs no copy and no
    work buffer: each non-zero of a sample reads the weights of all classes
    from contiguous memory. ``indptr`` may be a slice ``indptr[s:e + 1]`` of
    the full row pointers (scores of rows ``s .. e - 1`` only). Parallel over
    samples (each row of ``out`` has one writer).
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1, i, r, k
    cdef Py_ssize_t n_rows = W.shape[0], n_cols = W.shape[1]
    if out.shape[0] != n or out.shape[1] != n_rows:
        raise ValueError("out must have shape (n_samples, W.shape[0])")
    if n == 0 or n_rows == 0:
        return np.asarray(out)
    if n_cols == 0:
        out[:, :] = 0.0
        return np.asarray(out)
    cdef Py_ssize_t row_step = W.strides[0] // sizeof(double), col_step = W.strides[1] // sizeof(double)
    cdef Py_ssize_t bias_offset = (n_cols - 1) * col_step
    cdef const double* base = &W[0, 0]
    cdef const double* column
    cdef double x
    cdef double* o
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    with nogil:
        for i in prange(n, schedule="static", num_threads=n_threads):
            o = &out[i, 0]
            for r in range(n_rows):
                o[r] = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                x = <double> data_ptr[k]
                column = base + indices_ptr[k] * col_step
                for r in range(n_rows):
                    o[r] += x * column[r * row_step]
            if bias != 0.0:
                for r in range(n_rows):
                    o[r] += bias * base[r * row_step + bias_offset]
    return np.asarray(out)


def zero_outside_support(
    double[:, :] W, const double[:, :] alpha, const int[::1] y,
    const index_t[::1] indices, const index_t[::1] indptr, Py_ssize_t d,
):
    """Zero ``W[c, j]`` (``j < d``) where no sample with a non-zero coefficient for class ``c``
    has ``x_ij != 0``; zero the intercept ``W[c, d]`` (when ``W`` has that column) where no
    sample has one (WW and CS, Eq. III.11).

    Sample ``i``'s coefficient for class ``c`` is ``alpha[i, c]`` for ``c != y_i`` and
    ``sum_m alpha[i, m]`` for ``c = y_i`` (non-zero when any ``alpha[i, m]`` is, the
    variables being of one sign). ``W`` may have any memory layout; every other entry keeps
    its value. Work: one pass over the non-zeros of the samples with a coefficient per
    class plus ``K d``; extra memory ``n + d`` bytes.
    """
    cdef Py_ssize_t n = alpha.shape[0], K = alpha.shape[1], i, c, k, j
    cdef bint has_bias = W.shape[1] > d
    cdef bint any_active, active
    cdef unsigned char[::1] own = np.zeros(n, dtype=np.uint8)
    cdef unsigned char[::1] used = np.zeros(max(d, 1), dtype=np.uint8)
    with nogil:
        for i in range(n):
            for c in range(K):
                if alpha[i, c] != 0.0:
                    own[i] = 1
                    break
        for c in range(K):
            any_active = False
            for j in range(d):
                used[j] = 0
            for i in range(n):
                if y[i] == c:
                    active = own[i] != 0
                else:
                    active = alpha[i, c] != 0.0
                if active:
                    any_active = True
                    for k in range(indptr[i], indptr[i + 1]):
                        used[indices[k]] = 1
            for j in range(d):
                if not used[j]:
                    W[c, j] = 0.0
            if has_bias and not any_active:
                W[c, d] = 0.0
