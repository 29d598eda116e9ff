# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Weston-Watkins dual coordinate ascent kernel of the single machine (Eq. III.16, Algorithms 3-5).

Contract (stable; also in ``solvers/README.md``)
------------------------------------------------
All functions are MPI-free and release the GIL; they only read and write the
buffers they are given. (The MPI ranks run
:func:`xcsvm.distributed._sweeps.ww_pairs`, built on the same ``box_step``
and fused CSR types of ``_sparse.pxd``.)

Arrays (``n`` samples, ``K`` classes in total):

``data, indices, indptr``
    CSR arrays of X (n, d); ``data`` float32 or float64, ``indices`` and
    ``indptr`` both int32 or both int64.  Never copied.
``sq_norms`` float64 (n,)
    ``||x_i||^2 + bias^2`` (see ``sparse_ops.row_sq_norms``); must be > 0.
``upper`` float64 (n,)
    Box bound of every dual variable of sample ``i``: ``C * sample_weight[i]
    * class_weight[y_i]``.
``y`` int32 (n,)
    Class index ``0 <= y_i < K`` of every sample.
``alpha`` float64 (n, K), C-contiguous
    Dual variables ``alpha[i, c] >= 0`` for ``c != y_i`` (``alpha[i, y_i]``
    stays 0); the thesis' ``alpha_{i, y_i} = -sum_c alpha_{i, c}`` is implied.
``stale`` uint8 (n, K)
    Number of consecutive visits in which ``alpha[i, c]`` did not move;
    shrinking (Sec. 4.1.1) skips a variable once it reaches 3.
``WT`` float64 (d [+ 1 with an intercept], ld), C-contiguous
    Primal weights, **feature-major**: ``WT[j, class_col[c]] = w_cj``, kept
    equal to ``w_c = -X alpha_c`` (Eq. III.11), i.e. ``w_{y_i} += alpha_{i,c}
    x_i`` and ``w_c -= alpha_{i,c} x_i``; the intercept is the weight of an
    implicit constant feature of value ``bias`` in the last row.

``ww_epoch_t(..., group_sample_ptr, group_samples, group_class_ptr,
group_classes, group_col0, class_col, rounds, ...)``
    Groups ``g`` are given CSR-like: samples of group ``g`` are
    ``group_samples[group_sample_ptr[g]:group_sample_ptr[g+1]]`` (samples whose
    class is in the group, in visiting order), its classes likewise (``-1`` at
    padding columns, skipped).  ``rounds`` int32 (n_rounds, n_slots, 2) lists
    matched group pairs ``(a, b)`` per round (``-1`` = empty slot, ``a == b`` =
    pairs inside group ``a``).  Rounds run one after the other; the pairs of
    one round run in parallel on ``n_threads`` OpenMP threads.  A pair
    ``(a, b)`` optimises samples of ``a`` against classes of ``b`` and samples
    of ``b`` against classes of ``a``, visiting the samples of both groups
    interleaved (proportional merge of the two lists, each in its given
    order).  Race-free when no group appears twice in a round (the
    1-factorization of Algorithm 4 guarantees it): a task writes only the
    ``WT`` columns of its two groups (each group on its own 128-byte aligned
    columns when the driver pads them) and the ``alpha``/``stale`` entries of
    its own samples.  A "group" here may be a block of several class groups
    (``schedule.ww_schedule``).  Returns ``(max_violation, n_visited)``.

``max_violation`` is the largest absolute projected gradient of the visited
variables, measured before their update; ``n_visited`` counts variables not
skipped by shrinking.  ``shrink=1`` skips variables with ``stale >= 3``.
The pure-Python oracle of one epoch lives in ``tests/reference_kernels.py``.
"""
from cython.parallel cimport parallel, prange

import numpy as np

from xcsvm.solvers._sparse cimport STALE_LIMIT, XCSVM_PREFETCH, _prefetch_segment, box_step, floating_t, index_t

# Per-task result slots lie this many entries (128 bytes) apart: tasks of a round
# run on different threads and update their slot after every sample.
cdef Py_ssize_t SLOT_STRIDE = 16


def _check_common(alpha, stale, W, bias):
    if alpha.shape[0] != stale.shape[0] or alpha.shape[1] != stale.shape[1]:
        raise ValueError("alpha and stale must have the same shape")
    if bias != 0.0 and W.shape[1] < 1:
        raise ValueError("W needs an intercept column when bias != 0")


# ---------------------------------------------------------------------------
# Feature-major kernels of the single-machine solver.
#
# ``WT`` holds the weights transposed, one row per feature (plus a last row for
# the constant feature when ``bias != 0``): ``WT[j, class_col[c]] = w_cj``. The
# classes of one group occupy contiguous columns (``group_col0[g] + t`` for the
# ``t``-th class of group ``g``), every group starting on a 128-byte boundary,
# so a sample's non-zeros touch contiguous memory (a few cache lines per feature
# instead of one per class and feature) and two threads working on different
# groups never write the same pair of cache lines.
#
# A sample's coordinate steps against the classes of one group are exact and in
# the same order as a plain one-step-at-a-time sweep (``tests/reference_kernels.py``); only the arithmetic is regrouped: the step
# on ``alpha[i, c]`` changes ``w_{y_i}`` and ``w_c`` only, so the scores
# ``w_c . x_i`` of the group's classes are computed in one pass before the
# steps (each class is stepped once, after the steps on the other classes,
# which leave ``w_c`` unchanged), ``w_{y_i} . x_i`` is tracked through
# ``score_y += delta k_i`` as before, and the updates ``w_c -= delta_c x_i``,
# ``w_{y_i} += (sum_c delta_c) x_i`` are applied in one pass after them.
# ---------------------------------------------------------------------------

# Below this share of active (or moved) classes, 1 / BLOCK_RATIO, the scores (updates)
# are computed class by class (strided), above it for the whole group at once.
cdef Py_ssize_t BLOCK_RATIO = 2
# Rows of WT requested this many non-zeros ahead of their use (software
# prefetch): a sample's rows lie at random places in a matrix larger than the
# cache, and short group segments leave the hardware prefetcher little to do.
cdef Py_ssize_t PREFETCH_AHEAD = 12



cdef void _ww_sample_t(
    const floating_t* data, const index_t* indices, Py_ssize_t start, Py_ssize_t end,
    double k_i, double u_i, int yi, Py_ssize_t col_y,
    const int* targets, Py_ssize_t n_targets, Py_ssize_t col0,
    double* alpha_row, unsigned char* stale_row,
    double* WT, Py_ssize_t ld, Py_ssize_t bias_row, double bias, int shrink,
    double* scores, double* deltas, int* active,
    double* out_violation, long long* out_visited,
) noexcept nogil:
    """All coordinate steps of one sample against the classes of one group."""
    cdef Py_ssize_t t, a, k, n_active = 0, n_moved = 0
    cdef int c
    cdef double x, total, score_y, gradient, old, new, delta, sum_delta = 0.0
    cdef double violation = out_violation[0]
    cdef double* row
    if u_i <= 0.0:
        return  # zero weight: every alpha[i, :] is pinned to 0
    for t in range(n_targets):
        c = targets[t]
        if c < 0 or c == yi:  # c < 0: column padding of a fused block
            continue
        if shrink and stale_row[c] >= STALE_LIMIT:
            continue
        active[n_active] = <int> t
        n_active += 1
    if n_active == 0:
        return
    out_visited[0] += n_active
    score_y = 0.0
    if n_active * BLOCK_RATIO >= n_targets:
        # One pass over the sample's rows for w_y . x_i and the group's scores.
        for t in range(n_targets):
            scores[t] = 0.0
        for k in range(start, end):
            if k + PREFETCH_AHEAD < end:
                row = WT + indices[k + PREFETCH_AHEAD] * ld
                XCSVM_PREFETCH(row + col_y)
                _prefetch_segment(row + col0, n_targets)
            x = <double> data[k]
            row = WT + indices[k] * ld
            score_y += x * row[col_y]
            row = row + col0
            for t in range(n_targets):
                scores[t] += x * row[t]
        if bias != 0.0:
            row = WT + bias_row * ld
            score_y += bias * row[col_y]
            row = row + col0
            for t in range(n_targets):
                scores[t] += bias * row[t]
    else:
        for k in range(start, end):
            if k + PREFETCH_AHEAD < end:
                XCSVM_PREFETCH(WT + indices[k + PREFETCH_AHEAD] * ld + col_y)
            score_y += <double> data[k] * WT[indices[k] * ld + col_y]
        if bias != 0.0:
            score_y += bias * WT[bias_row * ld + col_y]
        for a in range(n_active):
            t = active[a]
            total = 0.0
            for k in range(start, end):
                total += <double> data[k] * WT[indices[k] * ld + col0 + t]
            if bias != 0.0:
                total += bias * WT[bias_row * ld + col0 + t]
            scores[t] = total
    for t in range(n_targets):
        deltas[t] = 0.0
    for a in range(n_active):
        t = active[a]
        c = targets[t]
        old = alpha_row[c]
        # Ascent direction of the dual (Eq. III.15): 1 - (w_y - w_c)^T x_i.
        gradient = 1.0 - score_y + scores[t]
        # Exact maximiser of the 1-D problem (Eq. III.16), curvature 2 k_i.
        new = box_step(old, gradient, 2.0 * k_i, u_i, &violation)
        delta = new - old
        if delta == 0.0:
            if stale_row[c] < 255:
                stale_row[c] += 1
            continue
        stale_row[c] = 0
        alpha_row[c] = new
        deltas[t] = delta
        active[n_moved] = <int> t  # n_moved <= a: reuses the slots already read
        n_moved += 1
        sum_delta += delta
        score_y += delta * k_i
    out_violation[0] = violation
    if n_moved == 0:
        return
    if n_moved * BLOCK_RATIO >= n_targets:
        for k in range(start, end):
            x = <double> data[k]
            row = WT + indices[k] * ld
            row[col_y] += sum_delta * x
            row = row + col0
            for t in range(n_targets):
                row[t] -= deltas[t] * x
        if bias != 0.0:
            row = WT + bias_row * ld
            row[col_y] += sum_delta * bias
            row = row + col0
            for t in range(n_targets):
                row[t] -= deltas[t] * bias
    else:
        for k in range(start, end):
            x = <double> data[k]
            row = WT + indices[k] * ld
            row[col_y] += sum_delta * x
            row = row + col0
            for a in range(n_moved):
                t = active[a]
                row[t] -= deltas[t] * x
        if bias != 0.0:
            row = WT + bias_row * ld
            row[col_y] += sum_delta * bias
            row = row + col0
            for a in range(n_moved):
                t = active[a]
                row[t] -= deltas[t] * bias


cdef void _ww_samples_t(
    const floating_t* data, const index_t* indices, const index_t* indptr,
    const double* sq_norms, const double* upper, const int* y, const int* class_col,
    const int* samples, Py_ssize_t n_samples,
    const int* targets, Py_ssize_t n_targets, Py_ssize_t col0,
    double* alpha, unsigned char* stale, Py_ssize_t n_classes,
    double* WT, Py_ssize_t ld, Py_ssize_t bias_row, double bias, int shrink,
    double* scores, double* deltas, int* active,
    double* out_violation, long long* out_visited,
) noexcept nogil:
    cdef Py_ssize_t s, i
    for s in range(n_samples):
        i = samples[s]
        _ww_sample_t(
            data, indices, indptr[i], indptr[i + 1], sq_norms[i], upper[i], y[i],
            class_col[y[i]], targets, n_targets, col0,
            alpha + i * n_classes, stale + i * n_classes,
            WT, ld, bias_row, bias, shrink, scores, deltas, active,
            out_violation, out_visited,
        )


def ww_epoch_t(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper, const int[::1] y,
    const int[::1] group_sample_ptr, const int[::1] group_samples,
    const int[::1] group_class_ptr, const int[::1] group_classes,
    const int[::1] group_col0, const int[::1] class_col,
    const int[:, :, ::1] rounds,
    double[:, ::1] alpha, unsigned char[:, ::1] stale, double[:, ::1] WT,
    double[:, ::1] scratch, int[:, ::1] scratch_index,
    double bias=0.0, bint shrink=False, int n_threads=1,
):
    """Run the rounds of one WW epoch on the feature-major weights ``WT``.

    One epoch (the groups, rounds, visiting order and coordinate steps of
    the module docstring) on ``WT`` (see the comment above ``_ww_sample_t``):
    ``WT`` float64 (d [+ 1 with an intercept], ld) with ``WT[j,
    class_col[c]] = w_cj``; the ``t``-th class of group ``g`` in column
    ``group_col0[g] + t``. ``scratch`` float64 (n_slots, 2 * max group size)
    and ``scratch_index`` int32 (n_slots, max group size) are per-task work
    space. Returns ``(max_violation, n_visited)``.
    """
    _check_common(alpha, stale, WT, 0.0)
    cdef Py_ssize_t n_rounds = rounds.shape[0], n_slots = rounds.shape[1]
    cdef Py_ssize_t r, t, a, b, n_a, n_b, i_a, i_b, width
    cdef Py_ssize_t ld = WT.shape[1], n_classes = alpha.shape[1]
    cdef Py_ssize_t bias_row = WT.shape[0] - 1
    cdef Py_ssize_t max_width = 0
    for a in range(group_class_ptr.shape[0] - 1):
        max_width = max(max_width, group_class_ptr[a + 1] - group_class_ptr[a])
    if scratch.shape[0] < n_slots or scratch.shape[1] < 2 * max_width:
        raise ValueError("scratch must have shape (n_slots, >= 2 * largest group)")
    if scratch_index.shape[0] < n_slots or scratch_index.shape[1] < max_width:
        raise ValueError("scratch_index must have shape (n_slots, >= largest group)")
    cdef double[::1] violation = np.zeros(max(n_slots, 1) * SLOT_STRIDE)
    cdef long long[::1] visited = np.zeros(max(n_slots, 1) * SLOT_STRIDE, dtype=np.int64)
    if group_samples.shape[0] == 0 or n_slots == 0:
        return 0.0, 0
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    cdef double* alpha_ptr = &alpha[0, 0]
    cdef unsigned char* stale_ptr = &stale[0, 0]
    width = scratch.shape[1] // 2
    with nogil, parallel(num_threads=n_threads):
        for r in range(n_rounds):
            for t in prange(n_slots, schedule="dynamic"):
                a = rounds[r, t, 0]
                b = rounds[r, t, 1]
                if a < 0 or b < 0:
                    continue
                if a == b:
                    _ww_samples_t(
                        data_ptr, indices_ptr, &indptr[0], &sq_norms[0], &upper[0], &y[0],
                        &class_col[0],
                        &group_samples[0] + group_sample_ptr[a],
                        group_sample_ptr[a + 1] - group_sample_ptr[a],
                        &group_classes[0] + group_class_ptr[a],
                        group_class_ptr[a + 1] - group_class_ptr[a], group_col0[a],
                        alpha_ptr, stale_ptr, n_classes, &WT[0, 0], ld, bias_row, bias, shrink,
                        &scratch[t, 0], &scratch[t, 0] + width, &scratch_index[t, 0],
                        &violation[t * SLOT_STRIDE], &visited[t * SLOT_STRIDE],
                    )
                else:
                    # Interleave the samples of a and b (proportional merge of the two
                    # shuffled lists): visiting all samples of a before those of b makes
                    # the epochs far less effective on skewed class sizes.
                    n_a = group_sample_ptr[a + 1] - group_sample_ptr[a]
                    n_b = group_sample_ptr[b + 1] - group_sample_ptr[b]
                    i_a = 0
                    i_b = 0
                    while i_a < n_a or i_b < n_b:
                        if i_b >= n_b or (i_a < n_a and i_a * n_b <= i_b * n_a):
                            _ww_samples_t(
                                data_ptr, indices_ptr, &indptr[0], &sq_norms[0], &upper[0], &y[0],
                                &class_col[0], &group_samples[0] + group_sample_ptr[a] + i_a, 1,
                                &group_classes[0] + group_class_ptr[b],
                                group_class_ptr[b + 1] - group_class_ptr[b], group_col0[b],
                                alpha_ptr, stale_ptr, n_classes, &WT[0, 0], ld, bias_row, bias,
                                shrink, &scratch[t, 0], &scratch[t, 0] + width,
                                &scratch_index[t, 0], &violation[t * SLOT_STRIDE], &visited[t * SLOT_STRIDE],
                            )
                            i_a = i_a + 1
                        else:
                            _ww_samples_t(
                                data_ptr, indices_ptr, &indptr[0], &sq_norms[0], &upper[0], &y[0],
                                &class_col[0], &group_samples[0] + group_sample_ptr[b] + i_b, 1,
                                &group_classes[0] + group_class_ptr[a],
                                group_class_ptr[a + 1] - group_class_ptr[a], group_col0[a],
                                alpha_ptr, stale_ptr, n_classes, &WT[0, 0], ld, bias_row, bias,
                                shrink, &scratch[t, 0], &scratch[t, 0] + width,
                                &scratch_index[t, 0], &violation[t * SLOT_STRIDE], &visited[t * SLOT_STRIDE],
                            )
                            i_b = i_b + 1
    return float(np.max(violation)), int(np.sum(visited))


def to_feature_major(const double[:, ::1] W, const int[::1] class_col, double[:, ::1] WT, int n_threads=1):
    """``WT[j, class_col[c]] = W[c, j]`` for every class ``c`` and column ``j`` (parallel copy)."""
    cdef Py_ssize_t K = W.shape[0], n_cols = W.shape[1], ld = WT.shape[1], c, j, j0, j1
    if class_col.shape[0] != K or WT.shape[0] != n_cols:
        raise ValueError("WT must have W.shape[1] rows and class_col one entry per row of W")
    if K and (np.min(class_col) < 0 or np.max(class_col) >= ld):
        raise ValueError("class_col points outside WT")
    if K == 0 or n_cols == 0:
        return
    cdef double* out = &WT[0, 0]
    with nogil:
        for j0 in prange(0, n_cols, 256, schedule="static", num_threads=n_threads):
            j1 = min(j0 + 256, n_cols)
            for c in range(K):
                for j in range(j0, j1):
                    out[j * ld + class_col[c]] = W[c, j]


def to_class_major(const double[:, ::1] WT, const int[::1] class_col, double[:, ::1] W, int n_threads=1):
    """``W[c, j] = WT[j, class_col[c]]``: the inverse of :func:`to_feature_major`."""
    cdef Py_ssize_t K = W.shape[0], n_cols = W.shape[1], ld = WT.shape[1], c, j, j0, j1
    if class_col.shape[0] != K or WT.shape[0] != n_cols:
        raise ValueError("WT must have W.shape[1] rows and class_col one entry per row of W")
    if K and (np.min(class_col) < 0 or np.max(class_col) >= ld):
        raise ValueError("class_col points outside WT")
    if K == 0 or n_cols == 0:
        return
    cdef const double* source = &WT[0, 0]
    with nogil:
        for j0 in prange(0, n_cols, 256, schedule="static", num_threads=n_threads):
            j1 = min(j0 + 256, n_cols)
            for c in range(K):
                for j in range(j0, j1):
                    W[c, j] = source[j * ld + class_col[c]]
