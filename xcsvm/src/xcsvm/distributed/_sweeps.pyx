# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The Weston-Watkins sweep of an MPI rank: explicit class pairs over two weight arrays.

A rank optimises lists of class pairs whose weight rows sit in two different
arrays (its own rows and a bundle received from another rank, see
:mod:`xcsvm.distributed.ww`), organised in rounds of disjoint pairs, with the
dual variables stored per pair block. The coordinate step is the one of the
single-machine kernel (:func:`xcsvm.solvers._sparse.box_step`, Eq. III.16) on
the same fused CSR types (float32/float64 values, int32/int64 indices) and the
same implicit intercept column (the constant feature ``bias`` in the last
column of each weight row, X is never copied). OpenMP ``prange`` runs the
pairs of a round; MPI is done by the Python callers, between calls. LLW ranks
run the single-machine kernel :func:`xcsvm.solvers.llw.llw_pass` directly.
The pure-Python oracle is ``tests/reference_kernels.py``.
"""
from cython.parallel cimport prange

import numpy as np

from xcsvm.solvers._sparse cimport STALE_LIMIT, box_step, floating_t, index_t, sparse_axpy, sparse_dot



cdef inline void _ww_step(
    const floating_t* data, const index_t* indices, Py_ssize_t start, Py_ssize_t end,
    double k_i, double u_i, double* w_true, double* w_other, double bias, Py_ssize_t bias_col,
    double* alpha, unsigned char* stale, int shrink, double* violation, long long* visited,
) noexcept nogil:
    # Eq. III.16 for one alpha[i, other] with y_i = true (Algorithm 3).
    cdef double gradient, old, new, delta
    if u_i <= 0.0:
        return  # zero weight: the variable is pinned to 0
    if shrink and stale[0] >= STALE_LIMIT:
        return  # shrinking (Sec. 4.1.1)
    visited[0] += 1
    # Ascent direction of the dual (Eq. III.15): 1 - (w_y - w_c)^T x_i.
    gradient = (1.0 - sparse_dot(data, indices, start, end, w_true, bias, bias_col)
                + sparse_dot(data, indices, start, end, w_other, bias, bias_col))
    old = alpha[0]
    new = box_step(old, gradient, 2.0 * k_i, u_i, violation)
    delta = new - old
    if delta == 0.0:
        if stale[0] < 255:
            stale[0] += 1
        return
    stale[0] = 0
    alpha[0] = new
    sparse_axpy(delta, data, indices, start, end, w_true, bias, bias_col)
    sparse_axpy(-delta, data, indices, start, end, w_other, bias, bias_col)


cdef void _ww_pair(
    const floating_t* data, const index_t* indices, const index_t* indptr,
    const double* sq_norms, const double* upper,
    double* w_left, double* w_right, Py_ssize_t a, Py_ssize_t b,
    const long long* class_ptr, const long long* class_samples, const long long* positions,
    double* alpha, unsigned char* stale, double bias, Py_ssize_t bias_col, int shrink,
    double* violation, long long* visited,
) noexcept nogil:
    # Algorithm 5, lines 15-18: the samples of a against class b and the
    # samples of b against class a, merged evenly (sample t of a at time
    # (t + 1/2) / n_a): long runs of one class' samples pushing the same two
    # weight vectors converge markedly slower on ill-conditioned data. The
    # block holds n_a entries (alpha[i, b], i in a), then n_b (alpha[i, a], i in b).
    cdef long long n_a = class_ptr[a + 1] - class_ptr[a]
    cdef long long n_b = class_ptr[b + 1] - class_ptr[b]
    cdef long long t_a = 0, t_b = 0, pos, i
    while t_a < n_a or t_b < n_b:
        if t_b >= n_b or (t_a < n_a and (2 * t_a + 1) * n_b <= (2 * t_b + 1) * n_a):
            pos = positions[class_ptr[a] + t_a]
            i = class_samples[class_ptr[a] + pos]
            _ww_step(data, indices, indptr[i], indptr[i + 1], sq_norms[i], upper[i],
                     w_left, w_right, bias, bias_col, alpha + pos, stale + pos, shrink,
                     violation, visited)
            t_a = t_a + 1
        else:
            pos = positions[class_ptr[b] + t_b]
            i = class_samples[class_ptr[b] + pos]
            _ww_step(data, indices, indptr[i], indptr[i + 1], sq_norms[i], upper[i],
                     w_right, w_left, bias, bias_col, alpha + n_a + pos, stale + n_a + pos,
                     shrink, violation, visited)
            t_b = t_b + 1


def ww_pairs(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper,
    double[:, ::1] left, double[:, ::1] right,
    const long long[::1] pair_left_row, const long long[::1] pair_right_row,
    const long long[::1] pair_left_class, const long long[::1] pair_right_class,
    const long long[::1] pair_alpha_offset, const long long[::1] round_ptr,
    const long long[::1] class_ptr, const long long[::1] class_samples,
    const long long[::1] positions, double[::1] alpha, unsigned char[::1] stale,
    double[::1] violation, long long[::1] visited,
    double bias=0.0, bint shrink=False, int n_threads=1,
):
    """WW coordinate ascent (Eq. III.16) over explicit class pairs, round by round.

    Pair ``p`` optimises row ``pair_left_row[p]`` of ``left`` (class
    ``pair_left_class[p]``) with row ``pair_right_row[p]`` of ``right``; both
    arrays have ``d + 1`` columns when ``bias != 0`` (the intercept is the
    weight of an implicit constant feature ``bias`` in the last column). Its
    dual block starts at ``alpha[pair_alpha_offset[p]]`` and holds
    ``alpha[i, right class]`` for the left class' samples followed by
    ``alpha[i, left class]`` for the right class' samples, in the order of
    ``class_samples`` (samples of class ``c``:
    ``class_samples[class_ptr[c]:class_ptr[c + 1]]``). ``positions`` visits
    each class' samples in this epoch's shuffled order. ``violation[p]`` and
    ``visited[p]`` receive the pair's largest projected-gradient violation and
    the number of variables not skipped by shrinking; ``stale`` (uint8, like
    ``alpha``) counts the visits without a move, and with ``shrink`` a
    variable is skipped once it reaches 3 (Sec. 4.1.1).
    """
    cdef Py_ssize_t n_rounds = round_ptr.shape[0] - 1
    cdef Py_ssize_t r, p, first, last
    cdef Py_ssize_t bias_col = left.shape[1] - 1
    if left.shape[1] != right.shape[1]:
        raise ValueError("left and right weight rows must have the same length")
    if stale.shape[0] != alpha.shape[0]:
        raise ValueError("stale must have the shape of alpha")
    if pair_left_row.shape[0] == 0:
        return
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    for r in range(n_rounds):
        first = round_ptr[r]
        last = round_ptr[r + 1]
        # Race-free: the pairs of one round share no class, hence no weight
        # row and no dual block (Algorithm 4 / bipartite_rounds guarantee it);
        # each pair writes only its own violation and visited slots.
        for p in prange(first, last, nogil=True, num_threads=n_threads, schedule="dynamic"):
            violation[p] = 0.0
            visited[p] = 0
            _ww_pair(
                data_ptr, indices_ptr, &indptr[0], &sq_norms[0], &upper[0],
                &left[pair_left_row[p], 0], &right[pair_right_row[p], 0],
                pair_left_class[p], pair_right_class[p], &class_ptr[0], &class_samples[0],
                &positions[0], &alpha[pair_alpha_offset[p]], &stale[pair_alpha_offset[p]],
                bias, bias_col, shrink, &violation[p], &visited[p],
            )
