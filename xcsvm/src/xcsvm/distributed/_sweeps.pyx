# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""MPI-free coordinate-ascent sweeps used by the distributed solvers.

The distributed WW solver needs to optimise an arbitrary list of class pairs
whose weight vectors sit in two different arrays (its own rows and a bundle
received from another rank), organised in rounds of disjoint pairs; the
distributed LLW solver needs to sweep a tenth of an epoch for its own classes.
Both are written here as `nogil` loops over CSR memoryviews with OpenMP
``prange`` over the pairs of a round (WW) or over the classes (LLW). MPI is
done by the Python callers, between calls. The pure-numpy twins in
:mod:`xcsvm.distributed.reference` are the test oracle.
"""
from cython.parallel cimport prange
from libc.math cimport fabs
cimport numpy as cnp

import numpy as np

cnp.import_array()

ctypedef cnp.int32_t index_t
ctypedef cnp.int64_t long_t


cdef unsigned char STALE_LIMIT = 3


cdef inline double _ww_step(
    const double[::1] data, const index_t[::1] indices, const long_t[::1] indptr,
    const double[::1] sqnorm, const double[::1] upper,
    double* w_true, double* w_other, long_t i, double* alpha, unsigned char* stale, int shrink,
) noexcept nogil:
    # Eq. III.16 for one alpha[i, other] with y_i = true: dual gradient
    # G = 1 - (w_true - w_other)^T x_i, step G / (2 k_i), clipped to the box
    # [0, upper_i]. Returns the projected-gradient violation before the step.
    # Shrinking (Sec. 4.1.1): skip a variable that did not move in its last
    # STALE_LIMIT visits.
    cdef long_t p
    cdef double score = 0.0, grad, old, new, step, projected
    if sqnorm[i] == 0.0 or (shrink and stale[0] >= STALE_LIMIT):
        return 0.0
    for p in range(indptr[i], indptr[i + 1]):
        score = score + data[p] * (w_true[indices[p]] - w_other[indices[p]])
    grad = 1.0 - score
    old = alpha[0]
    if old <= 0.0:
        projected = grad if grad > 0.0 else 0.0
    elif old >= upper[i]:
        projected = grad if grad < 0.0 else 0.0
    else:
        projected = grad
    step = 0.0
    if projected != 0.0:
        new = old + grad / (2.0 * sqnorm[i])
        if new < 0.0:
            new = 0.0
        elif new > upper[i]:
            new = upper[i]
        step = new - old
    if step == 0.0:
        if stale[0] < 255:
            stale[0] += 1
        return fabs(projected)
    stale[0] = 0
    alpha[0] = new
    for p in range(indptr[i], indptr[i + 1]):
        w_true[indices[p]] += step * data[p]
        w_other[indices[p]] -= step * data[p]
    return fabs(projected)


cdef double _ww_pair(
    const double[::1] data, const index_t[::1] indices, const long_t[::1] indptr,
    const double[::1] sqnorm, const double[::1] upper,
    double* w_left, double* w_right, long_t a, long_t b,
    const long_t[::1] class_ptr, const long_t[::1] class_samples,
    const long_t[::1] positions, double* alpha, unsigned char* stale, int shrink,
) noexcept nogil:
    # Algorithm 5, lines 15-18: the samples of a against class b and the
    # samples of b against class a. The two lists are merged evenly (sample
    # t of a at time (t + 1/2) / n_a), not run one after the other: long runs
    # of one class' samples pushing the same two weight vectors converge
    # markedly slower on ill-conditioned data. The block holds n_a entries
    # (alpha[i, b], i in a), then n_b entries (alpha[i, a], i in b).
    cdef long_t n_a = class_ptr[a + 1] - class_ptr[a]
    cdef long_t n_b = class_ptr[b + 1] - class_ptr[b]
    cdef long_t t_a = 0, t_b = 0, pos
    cdef double worst = 0.0, violation
    while t_a < n_a or t_b < n_b:
        if t_b >= n_b or (t_a < n_a and (2 * t_a + 1) * n_b <= (2 * t_b + 1) * n_a):
            pos = positions[class_ptr[a] + t_a]
            violation = _ww_step(data, indices, indptr, sqnorm, upper, w_left, w_right,
                                 class_samples[class_ptr[a] + pos], alpha + pos, stale + pos, shrink)
            t_a = t_a + 1
        else:
            pos = positions[class_ptr[b] + t_b]
            violation = _ww_step(data, indices, indptr, sqnorm, upper, w_right, w_left,
                                 class_samples[class_ptr[b] + pos], alpha + n_a + pos,
                                 stale + n_a + pos, shrink)
            t_b = t_b + 1
        if violation > worst:
            worst = violation
    return worst


def ww_pairs(
    const double[::1] data, const index_t[::1] indices, const long_t[::1] indptr,
    const double[::1] sqnorm, const double[::1] upper,
    double[:, ::1] left, double[:, ::1] right,
    const long_t[::1] pair_left_row, const long_t[::1] pair_right_row,
    const long_t[::1] pair_left_class, const long_t[::1] pair_right_class,
    const long_t[::1] pair_alpha_offset, const long_t[::1] round_ptr,
    const long_t[::1] class_ptr, const long_t[::1] class_samples,
    const long_t[::1] positions, double[::1] alpha, double[::1] violation,
    int n_threads, unsigned char[::1] stale=None, bint shrink=False,
):
    """One WW sweep over a list of class pairs, round by round (Algorithm 5).

    Pair ``p`` couples row ``pair_left_row[p]`` of ``left`` (class
    ``pair_left_class[p]``) with row ``pair_right_row[p]`` of ``right``; its
    dual block starts at ``alpha[pair_alpha_offset[p]]`` and holds
    ``alpha[i, right class]`` for the left class' samples followed by
    ``alpha[i, left class]`` for the right class' samples, in the order of
    ``class_samples``. ``positions`` visits each class' samples in the
    (shuffled) order of this epoch. ``violation[p]`` receives the pair's
    largest projected-gradient violation. ``stale`` (uint8, like ``alpha``)
    counts the visits in which a variable did not move; with ``shrink`` a
    variable is skipped once it reaches 3 (Sec. 4.1.1).
    """
    if stale is None:
        stale = np.zeros(alpha.shape[0], dtype=np.uint8)
        shrink = False
    cdef Py_ssize_t n_rounds = round_ptr.shape[0] - 1
    cdef Py_ssize_t r, p, first, last
    for r in range(n_rounds):
        first = round_ptr[r]
        last = round_ptr[r + 1]
        # Race-free: the pairs of one round share no class, hence no weight
        # row and no dual block (Algorithm 4 / bipartite_rounds guarantee it).
        for p in prange(first, last, nogil=True,
                        num_threads=n_threads, schedule="dynamic"):
            violation[p] = _ww_pair(
                data, indices, indptr, sqnorm, upper,
                &left[pair_left_row[p], 0], &right[pair_right_row[p], 0],
                pair_left_class[p], pair_right_class[p], class_ptr, class_samples,
                positions, &alpha[pair_alpha_offset[p]], &stale[pair_alpha_offset[p]], shrink)


cdef double _llw_class(
    const double[::1] data, const index_t[::1] indices, const long_t[::1] indptr,
    const double[::1] sqnorm, const double[::1] upper, const long_t[::1] labels,
    double* w, long_t c, double* alpha, const long_t[::1] order,
    long_t start, long_t stop, double margin,
) noexcept nogil:
    cdef long_t t, i, p
    cdef double score, grad, old, new, step, projected, worst = 0.0
    for t in range(start, stop):
        i = order[t]
        if labels[i] == c or sqnorm[i] == 0.0:
            continue
        score = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            score = score + data[p] * w[indices[p]]
        grad = margin + score
        old = alpha[i]
        if old <= 0.0:
            projected = grad if grad > 0.0 else 0.0
        elif old >= upper[i]:
            projected = grad if grad < 0.0 else 0.0
        else:
            projected = grad
        if fabs(projected) > worst:
            worst = fabs(projected)
        if projected == 0.0:
            continue
        new = old + grad / sqnorm[i]
        if new < 0.0:
            new = 0.0
        elif new > upper[i]:
            new = upper[i]
        step = new - old
        if step != 0.0:
            alpha[i] = new
            for p in range(indptr[i], indptr[i + 1]):
                w[indices[p]] -= step * data[p]
    return worst


def llw_segment(
    const double[::1] data, const index_t[::1] indices, const long_t[::1] indptr,
    const double[::1] sqnorm, const double[::1] upper, const long_t[::1] labels,
    double[:, ::1] weights, const long_t[::1] classes, double[:, ::1] alpha,
    const long_t[::1] order, long_t start, long_t stop, double margin,
    double[::1] violation, int n_threads,
):
    """LLW coordinate ascent (Eq. III.14, Algorithm 2) on ``order[start:stop]``.

    Row ``k`` of ``weights`` and of ``alpha`` (``n_samples`` long) belong to
    class ``classes[k]``; samples of that class are skipped
    (``alpha[i, y_i] = 0``). Dual gradient ``G = margin + w_c^T x_i``, step
    ``G / k_i`` clipped to ``[0, upper_i]``. ``violation[k]`` receives the
    class' largest projected-gradient violation.
    """
    cdef Py_ssize_t k, n_local = classes.shape[0]
    cdef double worst
    # Race-free: thread k writes only row k of weights, alpha and violation.
    for k in prange(n_local, nogil=True, num_threads=n_threads, schedule="dynamic"):
        worst = _llw_class(data, indices, indptr, sqnorm, upper, labels, &weights[k, 0],
                           classes[k], &alpha[k, 0], order, start, stop, margin)
        if worst > violation[k]:
            violation[k] = worst
