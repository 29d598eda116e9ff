# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Crammer-Singer sequential dual block coordinate ascent (Keerthi et al., 2008).

Contract (stable; also in ``solvers/README.md``)
------------------------------------------------
Same ``data/indices/indptr``, ``sq_norms``, ``upper``, ``y`` and ``bias``
conventions as :mod:`xcsvm.solvers.ww`. The weights are held
**feature-major**, as by ``ww.ww_epoch_t``: ``WT`` float64 (d [+ 1 with an
intercept], ld >= K), C-contiguous, ``WT[j, c] = w_cj`` (the intercept in the
last row), so the scores of all ``K`` classes of a sample are read from
contiguous memory, a row per non-zero.

``alpha`` float64 (n, K)
    ``alpha[i, c] >= 0`` for ``c != y_i`` with ``sum_c alpha[i, c] <=
    upper[i]``; ``alpha[i, y_i]`` stays 0. The primal weights are
    ``w_c = sum_i (1[y_i = c] sum_m alpha[i, m] - alpha[i, c]) x_i`` -- the
    same sign convention as WW, so the dual objective is
    ``sum(alpha) - ||W||^2 / 2`` for both.
``stale`` uint8 (n,)
    Per-sample shrinking counter (a whole block is skipped at 3).

``cs_epoch(..., samples, ..., workspace)``
    For every sample ``i`` of ``samples`` in order, solves the sub-problem
    in the block ``alpha[i, :]`` exactly (the sorting algorithm of Keerthi et
    al. 2008 / LIBLINEAR's ``Solver_MCSVM_CS``) and updates the weights of
    the classes whose variable moved (all of them in one pass over the
    sample's rows when at least half moved, else class by class).
    Sequential: every step touches every class. ``workspace`` is a
    float64 (5, K) scratch buffer (no allocation inside the epoch). Returns
    ``(max_violation, n_visited)`` where the violation of a block is
    ``max_m G_m - min_{m can increase} G_m`` in LIBLINEAR's terms.
"""
from libc.stdlib cimport qsort

import numpy as np

from xcsvm.solvers._sparse cimport _prefetch_segment, floating_t, index_t

cdef unsigned char STALE_LIMIT = 3
# Rows of WT requested this many non-zeros ahead of their use (as in ww.pyx).
cdef Py_ssize_t PREFETCH_AHEAD = 12


cdef int _descending(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const double*> a)[0], z = (<const double*> b)[0]
    if x > z:
        return -1
    if x < z:
        return 1
    return 0


def cs_epoch(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper, const int[::1] y,
    const int[::1] samples, double[:, ::1] alpha, unsigned char[::1] stale,
    double[:, ::1] WT, double[:, ::1] workspace, double bias=0.0, bint shrink=False,
):
    """One sequential pass of Crammer-Singer block updates over ``samples``.

    See the module docstring for the contract. Returns ``(max_violation, n_visited)``.
    """
    cdef Py_ssize_t K = alpha.shape[1], ld = WT.shape[1], bias_row = WT.shape[0] - 1
    if ld < K or workspace.shape[0] < 5 or workspace.shape[1] < K:
        raise ValueError("WT needs at least K columns and workspace shape (5, K)")
    cdef double* G = &workspace[0, 0]
    cdef double* B = &workspace[1, 0]
    cdef double* D = &workspace[2, 0]
    cdef double* old = &workspace[3, 0]
    cdef double* step = &workspace[4, 0]
    cdef double* W_ptr = &WT[0, 0]
    cdef double* row
    cdef Py_ssize_t s, i, m, r, k, start, end, n_changed
    cdef int yi
    cdef double k_i, u_i, total, min_g, max_g, beta, new, delta, block_violation, x
    cdef double violation = 0.0
    cdef long long visited = 0
    if samples.shape[0] == 0:
        return 0.0, 0
    cdef const floating_t* data_ptr = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t* indices_ptr = &indices[0] if indices.shape[0] > 0 else NULL
    with nogil:
        for s in range(samples.shape[0]):
            i = samples[s]
            u_i = upper[i]
            if u_i <= 0.0:
                continue
            if shrink and stale[i] >= STALE_LIMIT:
                continue
            visited += 1
            yi = y[i]
            k_i = sq_norms[i]
            start = indptr[i]
            end = indptr[i + 1]
            # LIBLINEAR's variables: a_m = -alpha[i, m] (m != y_i), a_y = sum_m alpha[i, m].
            total = 0.0
            for m in range(K):
                if m != yi:
                    old[m] = -alpha[i, m]
                    total += alpha[i, m]
            old[yi] = total
            # Gradient of the minimisation form: G_m = w_m . x_i + 1[m != y_i],
            # all classes in one pass over the sample's rows of WT.
            for m in range(K):
                G[m] = 0.0
            for k in range(start, end):
                if k + PREFETCH_AHEAD < end:
                    _prefetch_segment(W_ptr + indices_ptr[k + PREFETCH_AHEAD] * ld, K)
                x = <double> data_ptr[k]
                row = W_ptr + indices_ptr[k] * ld
                for m in range(K):
                    G[m] += x * row[m]
            if bias != 0.0:
                row = W_ptr + bias_row * ld
                for m in range(K):
                    G[m] += bias * row[m]
            min_g = 1e300
            max_g = -1e300
            for m in range(K):
                if m != yi:
                    G[m] += 1.0
                    if old[m] < 0.0 and G[m] < min_g:
                        min_g = G[m]
                elif old[m] < u_i * (1.0 - 1e-12) and G[m] < min_g:
                    # a_y is recomputed as a sum: treat it as at its bound
                    # within rounding, or the violation never closes.
                    min_g = G[m]
                if G[m] > max_g:
                    max_g = G[m]
            block_violation = max_g - min_g
            if block_violation > violation:
                violation = block_violation
            if block_violation <= 1e-12:
                if stale[i] < 255:
                    stale[i] += 1
                continue
            # Exact solution of min 1/2 k_i sum a_m^2 + sum B_m a_m, sum a_m = 0,
            # a_m <= C_m (C_y = u_i, else 0), by sorting (Keerthi et al., 2008).
            for m in range(K):
                B[m] = G[m] - k_i * old[m]
                D[m] = B[m]
            D[yi] += k_i * u_i
            qsort(D, K, sizeof(double), _descending)
            beta = D[0] - k_i * u_i
            r = 1
            while r < K and beta < r * D[r]:
                beta += D[r]
                r += 1
            beta /= r
            n_changed = 0
            for m in range(K):
                new = (beta - B[m]) / k_i
                if m == yi:
                    if new > u_i:
                        new = u_i
                elif new > 0.0:
                    new = 0.0
                delta = new - old[m]
                step[m] = delta
                if delta != 0.0:
                    n_changed += 1
                    if m != yi:
                        alpha[i, m] = -new
            if n_changed == 0:
                if stale[i] < 255:
                    stale[i] += 1
                continue
            stale[i] = 0
            if 2 * n_changed >= K:
                for k in range(start, end):
                    x = <double> data_ptr[k]
                    row = W_ptr + indices_ptr[k] * ld
                    for m in range(K):
                        row[m] += step[m] * x
                if bias != 0.0:
                    row = W_ptr + bias_row * ld
                    for m in range(K):
                        row[m] += step[m] * bias
            else:
                for m in range(K):
                    delta = step[m]
                    if delta == 0.0:
                        continue
                    for k in range(start, end):
                        W_ptr[indices_ptr[k] * ld + m] += delta * <double> data_ptr[k]
                    if bias != 0.0:
                        W_ptr[bias_row * ld + m] += delta * bias
    return violation, visited
