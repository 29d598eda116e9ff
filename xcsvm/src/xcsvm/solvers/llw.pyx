# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Lee-Lin-Wahba dual coordinate ascent kernels (Eqs. III.12-III.14, Algorithms 1-2).

Contract (stable; also in ``solvers/README.md``)
------------------------------------------------
MPI-free, GIL-free kernels. Same ``data/indices/indptr``, ``sq_norms``,
``upper``, ``y``, ``class_row``, ``W`` and ``bias`` conventions as
:mod:`xcsvm.solvers.ww`, except that LLW's dual variables are stored *per
class*:

``alpha`` float64 (R, n), C-contiguous
    ``alpha[class_row[c], i] in [0, upper[i]]`` for ``c != y_i``; row ``r``
    belongs to the same class as ``W[r]``, so a rank that holds only some
    classes holds only their dual variables.
``stale`` uint8 (R, n)
    Shrinking counters with the same layout.
``W``
    Kept equal to ``w_c = -X alpha_c + wbar`` (Eq. III.8) for the *current*
    auxiliary variable ``wbar``; ``wbar`` is held fixed inside
    ``llw_pass``.
``margin``
    1.0 for the thesis' hinge ``l(-w_c^T x)`` (Eq. III.2), ``1 / (K - 1)``
    for the original Lee-Lin-Wahba loss ``max(0, w_c^T x + 1/(K-1))``.

``llw_pass(..., samples, classes, ...)``
    For every class ``c`` in ``classes`` -- in parallel on ``n_threads``
    OpenMP threads, each class owned by one thread -- and every sample ``i``
    of ``samples`` (in order) with ``y_i != c``: one exact step on
    ``alpha_{i,c}`` (Eq. III.14). A class' task writes only ``W[row(c)]``,
    ``alpha[row(c)]`` and ``stale[row(c)]``: race-free. Returns
    ``(max_violation, n_visited)``. Algorithm 1 calls it on one tenth of the
    shuffled samples, then re-centres ``W``.
``weight_sum(W, rows, out, n_threads)``
    ``out[:] = sum_r W[r]`` over the given rows (the local part of the
    ``Reduce`` of Algorithm 1, line 12).
``subtract_from_rows(W, rows, vector, n_threads)``
    ``W[r] -= vector`` for the given rows (line 13, with
    ``vector = (sum over all K classes) / K``).
"""
from cython.parallel cimport prange

import numpy as np

from xcsvm.solvers._sparse cimport STALE_LIMIT, box_step, floating_t, index_t, sparse_axpy, sparse_dot



cdef void _llw_class(
    const floating_t* data, const index_t* indices, const index_t* indptr,
    const double* sq_norms, const double* upper, const int* y,
    const int* samples, Py_ssize_t n_block_samples, int c,
    double* alpha_c, unsigned char* stale_c, double* w_c,
    double bias, Py_ssize_t bias_col, double margin, int shrink,
    double* out_violation, long long* out_visited,
) noexcept nogil:
    cdef Py_ssize_t s, i, start, end
    cdef double k_i, u_i, gradient, old, new, delta
    cdef double violation = 0.0
    cdef long long visited = 0
    for s in range(n_block_samples):
        i = samples[s]
        if y[i] == c:
            continue
        u_i = upper[i]
        if u_i <= 0.0:
            continue
        if shrink and stale_c[i] >= STALE_LIMIT:
            continue
        visited += 1
        k_i = sq_norms[i]
        start = indptr[i]
        end = indptr[i + 1]
        old = alpha_c[i]
        # Ascent direction of D(alpha, wbar) in alpha_{i,c} (Eq. III.14).
        gradient = sparse_dot(data, indices, start, end, w_c, bias, bias_col) + margin
        new = box_step(old, gradient, k_i, u_i, &violation)
        delta = new - old
        if delta == 0.0:
            if stale_c[i] < 255:
                stale_c[i] += 1
            continue
        stale_c[i] = 0
        alpha_c[i] = new
        sparse_axpy(-delta, data, indices, start, end, w_c, bias, bias_col)
    out_violation[0] = violation
    out_visited[0] = visited


def llw_pass(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper, const int[::1] y,
    const int[::1] samples, const int[::1] classes, const int[::1] class_row,
    double[:, ::1] alpha, unsigned char[:, ::1] stale, double[:, ::1] W,
    double bias=0.0, double margin=1.0, bint shrink=False, int n_threads=1,
):
    """Coordinate steps of all ``classes`` over ``samples`` with ``wbar`` fixed (Algorithm 1, lines 10-11).

    See the module docstring for the contract. Returns ``(max_violation, n_visited)``.
    """
    if alpha.shape[0] != W.shape[0] or stale.shape[0] != W.shape[0]:
        raise ValueError("alpha and stale must have one row per row of W")
    if alpha.shape[1] != sq_norms.shape[0] or stale.shape[1] != sq_norms.shape[0]:
        raise ValueError("alpha and stale must have one column per sample")
    cdef Py_ssize_t n_tasks = classes.shape[0], j, row
    cdef Py_ssize_t n = alpha.shape[1], stride = W.shape[1]
    cdef Py_ssize_t bias_col = W.shape[1] - 1
    cdef double[::1] violation = np.zeros(max(n_tasks, 1))
    cdef long long[::1] visited = np.zeros(max(n_tasks, 1), dtype=np.int64)
    if n_tasks == 0 or samples.shape[0] == 0:
        return 0.0, 0
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    with nogil:
        for j in prange(n_tasks, schedule="dynamic", num_threads=n_threads):
            row = class_row[classes[j]]
            _llw_class(
                data_ptr, indices_ptr, &indptr[0], &sq_norms[0], &upper[0], &y[0],
                &samples[0], samples.shape[0], classes[j],
                &alpha[0, 0] + row * n, &stale[0, 0] + row * n, &W[0, 0] + row * stride,
                bias, bias_col, margin, shrink, &violation[j], &visited[j],
            )
    return float(np.max(violation)), int(np.sum(visited))


def weight_sum(const double[:, ::1] W, const int[::1] rows, double[::1] out, int n_threads=1):
    """``out[:] = sum of W[r] over r in rows`` (parallel over blocks of features)."""
    if out.shape[0] != W.shape[1]:
        raise ValueError("out must have W.shape[1] entries")
    cdef Py_ssize_t d = W.shape[1], n_rows = rows.shape[0]
    cdef Py_ssize_t block_size = 4096, n_blocks = (d + block_size - 1) // block_size
    cdef Py_ssize_t b, j, t, r, lo, hi
    with nogil:
        # Each block of features is summed by one thread: race-free writes to out.
        for b in prange(n_blocks, schedule="static", num_threads=n_threads):
            lo = b * block_size
            hi = lo + block_size
            if hi > d:
                hi = d
            for j in range(lo, hi):
                out[j] = 0.0
            for t in range(n_rows):
                r = rows[t]
                for j in range(lo, hi):
                    out[j] += W[r, j]


def subtract_from_rows(double[:, ::1] W, const int[::1] rows, const double[::1] vector, int n_threads=1):
    """``W[r] -= vector`` for every ``r`` in ``rows`` (parallel over rows)."""
    if vector.shape[0] != W.shape[1]:
        raise ValueError("vector must have W.shape[1] entries")
    cdef Py_ssize_t j, t, d = W.shape[1], n_rows = rows.shape[0], r
    with nogil:
        for t in prange(n_rows, schedule="static", num_threads=n_threads):
            r = rows[t]
            for j in range(d):
                W[r, j] -= vector[j]
