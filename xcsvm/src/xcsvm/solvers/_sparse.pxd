# Shared C-level helpers of the solver kernels (inline, nogil, no Python objects).
#
# Every kernel reads the training data as the three CSR arrays of
# ``scipy.sparse.csr_matrix`` (``data``, ``indices``, ``indptr``) and keeps the
# weights as a C-contiguous float64 matrix ``W`` with one *row per class*
# (``W[r, j]`` is feature ``j`` of the class stored in row ``r``).  When the
# model has an intercept, the intercept is the weight of an implicit constant
# feature of value ``bias`` stored in the last column ``W[r, bias_col]``; X is
# never copied to append that column.

from libc.math cimport fabs

# Shrinking (Sec. 4.1.1): a dual variable that did not move in this many consecutive
# visits is skipped (the stale counters are uint8). The one definition for all kernels.
cdef enum:
    STALE_LIMIT = 3

ctypedef fused floating_t:
    float
    double

ctypedef fused index_t:
    int
    long long


cdef inline double sparse_dot(
    const floating_t* data, const index_t* indices, Py_ssize_t start, Py_ssize_t end,
    const double* w, double bias, Py_ssize_t bias_col,
) noexcept nogil:
    """w . x_i for the CSR row [start, end), plus bias * w[bias_col]."""
    cdef Py_ssize_t k
    cdef double total = 0.0
    for k in range(start, end):
        total += <double> data[k] * w[indices[k]]
    if bias != 0.0:
        total += bias * w[bias_col]
    return total


cdef inline void sparse_axpy(
    double scale, const floating_t* data, const index_t* indices, Py_ssize_t start,
    Py_ssize_t end, double* w, double bias, Py_ssize_t bias_col,
) noexcept nogil:
    """w += scale * x_i (and the constant feature)."""
    cdef Py_ssize_t k
    for k in range(start, end):
        w[indices[k]] += scale * <double> data[k]
    if bias != 0.0:
        w[bias_col] += scale * bias


# Software prefetch (GCC/Clang builtin): request a cache line before it is read.
# Other compilers (MSVC) have no such builtin: there it is a no-op, the loads are unchanged.
cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define XCSVM_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 3)
    #else
    #define XCSVM_PREFETCH(p) ((void)(p))
    #endif
    """
    void XCSVM_PREFETCH(const void* p) noexcept nogil


cdef inline void _prefetch_segment(const double* p, Py_ssize_t n) noexcept nogil:
    """Request the cache lines of ``p[0:n]``."""
    cdef Py_ssize_t t
    for t in range(0, n, 8):
        XCSVM_PREFETCH(p + t)
    XCSVM_PREFETCH(p + n - 1)


cdef inline double box_step(
    double old, double gradient, double curvature, double upper, double* violation,
) noexcept nogil:
    """Exact step of a 1-D box-constrained dual coordinate: the clipped new value.

    Maximises ``gradient * d - curvature / 2 * d**2`` over ``0 <= old + d <= upper``
    and raises ``violation[0]`` to the absolute projected gradient at ``old``.
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
