# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Multi-label Weston-Watkins dual coordinate ascent (our reading of Eq. III.17).

Primal (pairwise ranking hinge, ``Y_i`` the label set of sample ``i``)::

    min_W 1/2 sum_c ||w_c||^2 + sum_i u_i sum_{p in Y_i} sum_{c not in Y_i}
          max(0, 1 - (w_p - w_c)^T x_i)

One dual variable ``a_{i,p,c}`` in ``[0, u_i]`` per (sample, positive label,
negative label); ``w_k = sum a x_i`` over the variables with ``k = p`` minus
``sum a x_i`` over those with ``k = c``. The step on ``a_{i,p,c}`` has gradient
``1 - (w_p - w_c)^T x_i`` and curvature ``2 ||x_i||^2`` (the derivation is in
``solvers/README.md``, "Multi-label WW").

Contract
--------
``data, indices, indptr``, ``sq_norms``, ``upper``, ``bias``
    As in :mod:`xcsvm.solvers.ww` (``upper[i] = u_i``).
``label_ptr`` int32 (n + 1), ``labels`` int32
    The positive labels of sample ``i`` are ``labels[label_ptr[i]:label_ptr[i+1]]``.
    Alpha row ``r = label_ptr[i] + j`` belongs to the pair (sample ``i``, its
    ``j``-th positive label).
``alpha`` float64 (P, K), ``stale`` uint8 (P, K), ``P = label_ptr[n]``
    ``alpha[r, c] = a_{i,p,c}``. ``stale[r, c] == 255`` marks an *excluded*
    entry (``c in Y_i``: not a variable, never touched); other values count the
    visits without a move (shrinking skips ``>= 3``; the count stops at 254).
``class_group``, ``class_pos`` int32 (K)
    Group of every class and its position inside the group's class list.
``group_class_ptr, group_classes``, ``group_col0``
    Classes of every group (CSR-like) and the first column of its weights in ``WT``.
``WT`` float64 (d [+ 1], ld)
    Feature-major weights, ``WT[j, group_col0[g] + t] = w_{c, j}`` for the
    ``t``-th class ``c`` of group ``g``; the intercept in the last row.
``rounds`` int32 (n_rounds, n_slots, 2), ``task_ptr`` / ``task_samples``
    Task ``(a, b)`` of round ``r``, slot ``s`` (``a == b``: the variables whose
    positive and negative labels both lie in group ``a``; ``a != b``: positive
    in ``a`` and negative in ``b`` or the reverse) visits the samples
    ``task_samples[task_ptr[q]:task_ptr[q + 1]]``, ``q = r * n_slots + s``.

Race-freedom: the tasks of one round have pairwise disjoint groups (the
1-factorization of Algorithm 4) and a task writes only the ``WT`` columns of
its own groups; ``alpha``/``stale`` rows are shared by the tasks of a round
(a sample appears in several tasks), but a task writes only the entries
``alpha[r, c]`` with ``c`` in its groups and the positive label of ``r`` in
its groups, which no other task of the round writes.
"""
from cython.parallel cimport parallel, prange

import numpy as np

from xcsvm.solvers._sparse cimport STALE_LIMIT, XCSVM_PREFETCH, floating_t, index_t

from libc.math cimport fabs

cdef unsigned char STALE_CAP = 254
cdef unsigned char EXCLUDED = 255
cdef Py_ssize_t SLOT_STRIDE = 16
cdef Py_ssize_t BLOCK_RATIO = 2
cdef Py_ssize_t PREFETCH_AHEAD = 12


cdef inline double _box_step(
    double old, double gradient, double curvature, double upper, double* violation,
) noexcept nogil:
    """Clipped exact maximiser of ``gradient d - curvature d^2 / 2`` on ``[0, upper]``.

    Also raises ``violation[0]`` to the absolute projected gradient at ``old``
    (the same step as ``_sparse.box_step``, kept here so this module does not
    depend on the inline helpers of the multi-class kernels).
    """
    cdef double projected = gradient, new
    if old <= 0.0 and gradient < 0.0:
        projected = 0.0
    elif old >= upper and gradient > 0.0:
        projected = 0.0
    if fabs(projected) > violation[0]:
        violation[0] = fabs(projected)
    new = old + gradient / curvature
    if new < 0.0:
        return 0.0
    if new > upper:
        return upper
    return new


cdef inline Py_ssize_t _column(Py_ssize_t t, Py_ssize_t wa, Py_ssize_t col0a, Py_ssize_t col0b) noexcept nogil:
    """Column of ``WT`` of local index ``t`` (``t < wa``: group a, else group b)."""
    if t < wa:
        return col0a + t
    return col0b + t - wa


cdef void _ml_sample(
    const floating_t* data, const index_t* indices, Py_ssize_t start, Py_ssize_t end,
    double k_i, double u_i, const int* positives, Py_ssize_t n_pos, Py_ssize_t row0,
    const int* class_group, const int* class_pos,
    int a, const int* classes_a, Py_ssize_t wa, Py_ssize_t col0a,
    int b, const int* classes_b, Py_ssize_t wb, Py_ssize_t col0b,
    double* alpha, unsigned char* stale, Py_ssize_t K,
    double* WT, Py_ssize_t ld, Py_ssize_t bias_row, double bias, int shrink,
    double* scores, double* deltas, int* sparse_list, unsigned char* flag,
    double* out_violation, long long* out_visited,
) noexcept nogil:
    """All steps of one sample on the variables of task (a, b) (``b < 0``: self task of a).

    Local index ``t`` in ``[0, wa)`` is the ``t``-th class of a, ``[wa, wa + wb)``
    of b. Every step moves ``w_p`` and ``w_c`` along ``x_i`` only, so the
    scores of all the task's classes are computed once and tracked exactly
    (``s_p += delta k_i``, ``s_c -= delta k_i``), and the updates are applied
    in one pass after the steps.
    """
    cdef Py_ssize_t j, t, lo, hi, tp, n_active = 0, n_sparse = 0, n_a = 0, n_b = 0, width, k, q
    cdef int p, g, c
    cdef unsigned char st
    cdef int dense_a, dense_b, moved = 0
    cdef double x, gradient, old, new, delta, total
    cdef double violation = out_violation[0]
    cdef double* row
    cdef double* arow
    cdef unsigned char* srow
    cdef const int* targets
    if u_i <= 0.0:
        return  # zero weight: every variable pinned to 0
    width = wa + wb
    for t in range(width):
        flag[t] = 0
    # Pass 1: which variables are active, which scores they need.
    for j in range(n_pos):
        p = positives[j]
        g = class_group[p]
        if g == a:
            tp = class_pos[p]
            if b < 0:
                lo, hi = 0, wa
            else:
                lo, hi = wa, width
        elif b >= 0 and g == b:
            tp = wa + class_pos[p]
            lo, hi = 0, wa
        else:
            continue
        srow = stale + (row0 + j) * K
        for t in range(lo, hi):
            c = classes_a[t] if t < wa else classes_b[t - wa]
            st = srow[c]
            if st == EXCLUDED or (shrink and st >= STALE_LIMIT):
                continue
            n_active += 1
            flag[t] = 1
            flag[tp] = 1
    if n_active == 0:
        return
    out_visited[0] += n_active
    for t in range(wa):
        n_a += flag[t]
    for t in range(wa, width):
        n_b += flag[t]
    dense_a = n_a > 0 and n_a * BLOCK_RATIO >= wa
    dense_b = n_b > 0 and n_b * BLOCK_RATIO >= wb
    for t in range(width):
        scores[t] = 0.0
        deltas[t] = 0.0
        if flag[t] and not ((t < wa and dense_a) or (t >= wa and dense_b)):
            sparse_list[n_sparse] = <int> t
            n_sparse += 1
    # Scores: one pass over the sample's rows (plus the constant feature).
    for k in range(start, end):
        if k + PREFETCH_AHEAD < end:
            row = WT + indices[k + PREFETCH_AHEAD] * ld
            if dense_a:
                XCSVM_PREFETCH(row + col0a)
            if dense_b:
                XCSVM_PREFETCH(row + col0b)
        x = <double> data[k]
        row = WT + indices[k] * ld
        if dense_a:
            for t in range(wa):
                scores[t] += x * row[col0a + t]
        if dense_b:
            for t in range(wb):
                scores[wa + t] += x * row[col0b + t]
        for q in range(n_sparse):
            t = sparse_list[q]
            scores[t] += x * row[_column(t, wa, col0a, col0b)]
    if bias != 0.0:
        row = WT + bias_row * ld
        if dense_a:
            for t in range(wa):
                scores[t] += bias * row[col0a + t]
        if dense_b:
            for t in range(wb):
                scores[wa + t] += bias * row[col0b + t]
        for q in range(n_sparse):
            t = sparse_list[q]
            scores[t] += bias * row[_column(t, wa, col0a, col0b)]
    # Pass 2: the exact coordinate steps, scores tracked along x_i.
    for j in range(n_pos):
        p = positives[j]
        g = class_group[p]
        if g == a:
            tp = class_pos[p]
            if b < 0:
                lo, hi = 0, wa
            else:
                lo, hi = wa, width
        elif b >= 0 and g == b:
            tp = wa + class_pos[p]
            lo, hi = 0, wa
        else:
            continue
        srow = stale + (row0 + j) * K
        arow = alpha + (row0 + j) * K
        for t in range(lo, hi):
            c = classes_a[t] if t < wa else classes_b[t - wa]
            st = srow[c]
            if st == EXCLUDED or (shrink and st >= STALE_LIMIT):
                continue
            old = arow[c]
            # Ascent direction of the dual: 1 - (w_p - w_c)^T x_i; curvature 2 k_i.
            gradient = 1.0 - scores[tp] + scores[t]
            new = _box_step(old, gradient, 2.0 * k_i, u_i, &violation)
            delta = new - old
            if delta == 0.0:
                if st < STALE_CAP:
                    srow[c] = st + 1
                continue
            srow[c] = 0
            arow[c] = new
            scores[tp] += delta * k_i
            scores[t] -= delta * k_i
            deltas[tp] += delta
            deltas[t] -= delta
            moved = 1
    out_violation[0] = violation
    if not moved:
        return
    # Updates w_k += deltas[k] x_i in one pass (dense segments, then the sparse list).
    for k in range(start, end):
        x = <double> data[k]
        row = WT + indices[k] * ld
        if dense_a:
            for t in range(wa):
                row[col0a + t] += deltas[t] * x
        if dense_b:
            for t in range(wb):
                row[col0b + t] += deltas[wa + t] * x
        for q in range(n_sparse):
            t = sparse_list[q]
            if deltas[t] != 0.0:
                row[_column(t, wa, col0a, col0b)] += deltas[t] * x
    if bias != 0.0:
        row = WT + bias_row * ld
        if dense_a:
            for t in range(wa):
                row[col0a + t] += deltas[t] * bias
        if dense_b:
            for t in range(wb):
                row[col0b + t] += deltas[wa + t] * bias
        for q in range(n_sparse):
            t = sparse_list[q]
            if deltas[t] != 0.0:
                row[_column(t, wa, col0a, col0b)] += deltas[t] * bias


def ml_epoch(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper,
    const int[::1] label_ptr, const int[::1] labels,
    const int[::1] class_group, const int[::1] class_pos,
    const int[::1] group_class_ptr, const int[::1] group_classes, const int[::1] group_col0,
    const int[:, :, ::1] rounds, const int[::1] task_ptr, const int[::1] task_samples,
    double[:, ::1] alpha, unsigned char[:, ::1] stale, double[:, ::1] WT,
    double[:, ::1] scratch, int[:, ::1] scratch_index, unsigned char[:, ::1] scratch_flag,
    double bias=0.0, bint shrink=False, int n_threads=1,
):
    """Run the rounds of one multi-label WW epoch (see the module docstring).

    ``scratch`` float64 (n_slots, >= 4 * largest group), ``scratch_index``
    int32 and ``scratch_flag`` uint8 (n_slots, >= 2 * largest group) are
    per-task work space. Returns ``(max_violation, n_visited)``.
    """
    cdef Py_ssize_t n_rounds = rounds.shape[0], n_slots = rounds.shape[1]
    cdef Py_ssize_t r, s, a, b, q, m, i, wa, wb, max_width = 0, half
    cdef Py_ssize_t K = alpha.shape[1], ld = WT.shape[1], bias_row = WT.shape[0] - 1
    if alpha.shape[0] != stale.shape[0] or alpha.shape[1] != stale.shape[1]:
        raise ValueError("alpha and stale must have the same shape")
    if alpha.shape[0] != label_ptr[label_ptr.shape[0] - 1]:
        raise ValueError("alpha needs one row per (sample, positive label) pair")
    if task_ptr.shape[0] != n_rounds * n_slots + 1:
        raise ValueError("task_ptr needs n_rounds * n_slots + 1 entries")
    for a in range(group_class_ptr.shape[0] - 1):
        max_width = max(max_width, group_class_ptr[a + 1] - group_class_ptr[a])
    if scratch.shape[0] < n_slots or scratch.shape[1] < 4 * max_width:
        raise ValueError("scratch must have shape (n_slots, >= 4 * largest group)")
    if scratch_index.shape[0] < n_slots or scratch_index.shape[1] < 2 * max_width:
        raise ValueError("scratch_index must have shape (n_slots, >= 2 * largest group)")
    if scratch_flag.shape[0] < n_slots or scratch_flag.shape[1] < 2 * max_width:
        raise ValueError("scratch_flag must have shape (n_slots, >= 2 * largest group)")
    cdef double[::1] violation = np.zeros(max(n_slots, 1) * SLOT_STRIDE)
    cdef long long[::1] visited = np.zeros(max(n_slots, 1) * SLOT_STRIDE, dtype=np.int64)
    if task_samples.shape[0] == 0 or n_slots == 0 or alpha.shape[0] == 0:
        return 0.0, 0
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    half = scratch.shape[1] // 2
    with nogil, parallel(num_threads=n_threads):
        for r in range(n_rounds):
            # The implicit barrier at the end of each prange separates the rounds.
            for s in prange(n_slots, schedule="dynamic"):
                a = rounds[r, s, 0]
                b = rounds[r, s, 1]
                if a < 0 or b < 0:
                    continue
                q = r * n_slots + s
                wa = group_class_ptr[a + 1] - group_class_ptr[a]
                wb = 0 if a == b else group_class_ptr[b + 1] - group_class_ptr[b]
                for m in range(task_ptr[q], task_ptr[q + 1]):
                    i = task_samples[m]
                    _ml_sample(
                        data_ptr, indices_ptr, indptr[i], indptr[i + 1], sq_norms[i], upper[i],
                        &labels[0] + label_ptr[i], label_ptr[i + 1] - label_ptr[i], label_ptr[i],
                        &class_group[0], &class_pos[0],
                        a, &group_classes[0] + group_class_ptr[a], wa, group_col0[a],
                        -1 if a == b else b, &group_classes[0] + group_class_ptr[b], wb, group_col0[b],
                        &alpha[0, 0], &stale[0, 0], K, &WT[0, 0], ld, bias_row, bias, shrink,
                        &scratch[s, 0], &scratch[s, 0] + half, &scratch_index[s, 0], &scratch_flag[s, 0],
                        &violation[s * SLOT_STRIDE], &visited[s * SLOT_STRIDE],
                    )
    return float(np.max(violation)), int(np.sum(visited))
