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
``stale`` uint8 (n, K)
    Per-variable shrinking counter: visits in which ``alpha[i, m]`` did not
    move. With ``shrink``, a class ``m != y_i`` whose variable sits at its
    bound 0 and has not moved for 3 visits leaves the block (as LIBLINEAR's
    ``Solver_MCSVM_CS`` shrinks inside a block); the block's sub-problem is
    then solved exactly over the remaining classes, the others staying 0.
    A block with no class besides ``y_i`` left is skipped.

``cs_epoch(..., samples, ..., workspace, active)``
    For every sample ``i`` of ``samples`` in order, solves the sub-problem
    in the block ``alpha[i, :]`` (its active classes) exactly (the sorting
    algorithm of Keerthi et al. 2008 / LIBLINEAR's ``Solver_MCSVM_CS``) and
    updates the weights of the classes whose variable moved (all of them in
    one pass over the sample's rows when at least half of all classes moved,
    else only theirs). The scores are one contiguous pass over the sample's
    rows of ``WT`` when at least half of the classes are active, else a
    gather of the active columns. Sequential: every step may touch every
    class. ``workspace`` is a float64 (6, K) and ``active`` an int32 (K,)
    scratch buffer (no allocation inside the epoch). Returns
    ``(max_violation, n_visited)`` where the violation of a block is
    ``max_m G_m - min_{m can increase} G_m`` in LIBLINEAR's terms over its
    active classes, and ``n_visited`` counts the active variables
    (``y_i`` included) of the blocks visited.
"""
import numpy as np

from xcsvm.solvers._sparse cimport STALE_LIMIT, _prefetch_segment, floating_t, index_t

# Rows of WT requested this many non-zeros ahead of their use (as in ww.pyx).
cdef Py_ssize_t PREFETCH_AHEAD = 12
#: Relative distance of a_y = sum of the block's other variables from its bound C_i
#: below which a_y counts as at the bound in the violation (the stopping rule). A move
#: of a_y this small changes the dual objective by at most ~1e-9 relative.
cdef double BOUND_SLACK = 1e-9


cdef inline void _sift_down(double* heap, Py_ssize_t node, Py_ssize_t size) noexcept nogil:
    """Restore the max-heap property below ``node`` of ``heap[0:size]``."""
    cdef Py_ssize_t child
    cdef double value = heap[node]
    while True:
        child = 2 * node + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] > heap[child]:
            child += 1
        if heap[child] <= value:
            break
        heap[node] = heap[child]
        node = child
    heap[node] = value


cdef double _threshold(double* D, Py_ssize_t n, double shift) noexcept nogil:
    """``beta`` of the sorting algorithm (Keerthi et al. 2008, LIBLINEAR's ``solve_sub_problem``).

    With ``D`` sorted in descending order: ``beta = D[0] - shift``, then
    ``beta += D[r]`` while ``beta < r D[r]``, and ``beta / r``. Only the ``r``
    largest values are needed in order, so ``D`` is made a max-heap (O(n))
    and popped ``r`` times (O(r log n)) instead of sorted (O(n log n)); a
    block's ``r`` is the number of classes that end up competing, a few of
    its ``n``. ``D`` is scrambled.
    """
    cdef Py_ssize_t node, r = 1, size = n
    cdef double beta
    for node in range(n // 2 - 1, -1, -1):
        _sift_down(D, node, n)
    beta = D[0] - shift
    while True:
        size -= 1  # pop the maximum just used
        if size == 0:
            break
        D[0] = D[size]
        _sift_down(D, 0, size)
        if not beta < r * D[0]:
            break
        beta += D[0]
        r += 1
    return beta / r


def cs_epoch(
    const floating_t[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
    const double[::1] sq_norms, const double[::1] upper, const int[::1] y,
    const int[::1] samples, double[:, ::1] alpha, unsigned char[:, ::1] stale,
    double[:, ::1] WT, double[:, ::1] workspace, int[::1] active, double bias=0.0,
    bint shrink=False,
):
    """One sequential pass of Crammer-Singer block updates over ``samples``.

    See the module docstring for the contract. Returns ``(max_violation, n_visited)``.
    """
    cdef Py_ssize_t K = alpha.shape[1], ld = WT.shape[1], bias_row = WT.shape[0] - 1
    if ld < K or workspace.shape[0] < 6 or workspace.shape[1] < K or active.shape[0] < K:
        raise ValueError("WT needs at least K columns, workspace shape (6, K) and active (K,)")
    if stale.shape[0] != alpha.shape[0] or stale.shape[1] != K:
        raise ValueError("stale must have the shape of alpha")
    # Compact arrays over the active classes of the current block (index a,
    # class act[a]); full is indexed by class.
    cdef double* G = &workspace[0, 0]
    cdef double* B = &workspace[1, 0]
    cdef double* D = &workspace[2, 0]
    cdef double* old = &workspace[3, 0]
    cdef double* step = &workspace[4, 0]
    cdef double* full = &workspace[5, 0]
    cdef int* act = &active[0]
    cdef double* W_ptr = &WT[0, 0]
    cdef double* row
    cdef double* alpha_row
    cdef unsigned char* stale_row
    cdef Py_ssize_t s, i, m, a, k, start, end, n_changed, n_act, ya
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
            yi = y[i]
            alpha_row = &alpha[i, 0]
            stale_row = &stale[i, 0]
            # LIBLINEAR's variables: a_m = -alpha[i, m] (m != y_i), a_y = sum_m alpha[i, m];
            # shrunk classes have a_m = 0, so a_y is the sum over the active ones.
            n_act = 0
            total = 0.0
            ya = 0
            for m in range(K):
                if m == yi:
                    ya = n_act
                elif shrink and stale_row[m] >= STALE_LIMIT and alpha_row[m] == 0.0:
                    continue
                act[n_act] = <int> m
                old[n_act] = -alpha_row[m]
                total += alpha_row[m]
                n_act += 1
            old[ya] = total
            if n_act <= 1:
                continue  # only y_i left: a_y = 0 is fixed by sum a_m = 0
            visited += n_act
            k_i = sq_norms[i]
            start = indptr[i]
            end = indptr[i + 1]
            # Gradient of the minimisation form: G_m = w_m . x_i + 1[m != y_i].
            if 2 * n_act >= K:
                # All classes in one pass over the sample's rows of WT.
                for m in range(K):
                    full[m] = 0.0
                for k in range(start, end):
                    if k + PREFETCH_AHEAD < end:
                        _prefetch_segment(W_ptr + indices_ptr[k + PREFETCH_AHEAD] * ld, K)
                    x = <double> data_ptr[k]
                    row = W_ptr + indices_ptr[k] * ld
                    for m in range(K):
                        full[m] += x * row[m]
                if bias != 0.0:
                    row = W_ptr + bias_row * ld
                    for m in range(K):
                        full[m] += bias * row[m]
                for a in range(n_act):
                    G[a] = full[act[a]]
            else:
                for a in range(n_act):
                    G[a] = 0.0
                for k in range(start, end):
                    x = <double> data_ptr[k]
                    row = W_ptr + indices_ptr[k] * ld
                    for a in range(n_act):
                        G[a] += x * row[act[a]]
                if bias != 0.0:
                    row = W_ptr + bias_row * ld
                    for a in range(n_act):
                        G[a] += bias * row[act[a]]
            min_g = 1e300
            max_g = -1e300
            for a in range(n_act):
                if a != ya:
                    G[a] += 1.0
                    if old[a] < 0.0 and G[a] < min_g:
                        min_g = G[a]
                elif old[a] < u_i * (1.0 - BOUND_SLACK - 1e-12 * n_act) and G[a] < min_g:
                    # a_y is recomputed as a sum of the n_act - 1 others, whose sum
                    # drifts below C_i by rounding over many block steps (up to 1.5e-10
                    # relative at K = 1 139): within BOUND_SLACK + n_act * 1e-12 of its
                    # bound it counts as at the bound, or the violation never closes and
                    # the solver runs to max_iter at small C.
                    min_g = G[a]
                if G[a] > max_g:
                    max_g = G[a]
            block_violation = max_g - min_g
            if block_violation > violation:
                violation = block_violation
            if block_violation <= 1e-12:
                for a in range(n_act):
                    if stale_row[act[a]] < 255:
                        stale_row[act[a]] += 1
                continue
            # Exact solution of min 1/2 k_i sum a_m^2 + sum B_m a_m, sum a_m = 0,
            # a_m <= C_m (C_y = u_i, else 0), by the sorting algorithm (Keerthi et al., 2008) on a heap.
            for a in range(n_act):
                B[a] = G[a] - k_i * old[a]
                D[a] = B[a]
            D[ya] += k_i * u_i
            beta = _threshold(D, n_act, k_i * u_i)
            n_changed = 0
            for a in range(n_act):
                new = (beta - B[a]) / k_i
                if a == ya:
                    if new > u_i:
                        new = u_i
                elif new > 0.0:
                    new = 0.0
                delta = new - old[a]
                if delta != 0.0:
                    step[n_changed] = delta
                    act[n_changed] = act[a]  # n_changed <= a: reuses the slots already read
                    n_changed += 1
                    stale_row[act[a]] = 0
                    if a != ya:
                        alpha_row[act[a]] = -new
                elif stale_row[act[a]] < 255:
                    stale_row[act[a]] += 1
            if n_changed == 0:
                continue
            if 2 * n_changed >= K:
                for m in range(K):
                    full[m] = 0.0
                for a in range(n_changed):
                    full[act[a]] = step[a]
                for k in range(start, end):
                    x = <double> data_ptr[k]
                    row = W_ptr + indices_ptr[k] * ld
                    for m in range(K):
                        row[m] += full[m] * x
                if bias != 0.0:
                    row = W_ptr + bias_row * ld
                    for m in range(K):
                        row[m] += full[m] * bias
            else:
                for k in range(start, end):
                    x = <double> data_ptr[k]
                    row = W_ptr + indices_ptr[k] * ld
                    for a in range(n_changed):
                        row[act[a]] += step[a] * x
                if bias != 0.0:
                    row = W_ptr + bias_row * ld
                    for a in range(n_changed):
                        row[act[a]] += step[a] * bias
    return violation, visited
