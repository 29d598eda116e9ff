# Shared C-level helpers of the solver kernels (inline, nogil, no Python objects).
#
# Every kernel reads the training data as the three CSR arrays of
# ``scipy.sparse.csr_matrix`` (``data``, ``indices``, ``indptr``) and keeps the
# weights as a C-contiguous float64 matrix ``W`` with one *row per class*
# (``W[r, j]`` is feature ``j`` of the class stored in row ``r``).  When the
# model has an intercept, the intercept is the weight of an implicit constant
# feature of value ``bias`` stored in the last column ``W[r, bias_col]``; X is
# never copied to append that column.

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
cdef extern from *:
    """
    #define XCSVM_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 3)
    #define XCSVM_PREFETCHW(p) __builtin_prefetch((const void*)(p), 1, 3)
    """
    void XCSVM_PREFETCH(const void* p) noexcept nogil
    void XCSVM_PREFETCHW(const void* p) noexcept nogil


cdef inline void _prefetch_segment(const double* p, Py_ssize_t n, bint write) noexcept nogil:
    """Request the cache lines of ``p[0:n]``."""
    cdef Py_ssize_t t
    for t in range(0, n, 8):
        if write:
            XCSVM_PREFETCHW(p + t)
        else:
            XCSVM_PREFETCH(p + t)
    XCSVM_PREFETCH(p + n - 1)
