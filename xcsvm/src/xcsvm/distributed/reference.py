"""Pure-numpy twins of the compiled sweeps: the test oracle.

Same arguments and the same results (up to floating-point summation order)
as :func:`xcsvm.distributed._sweeps.ww_pairs` and
:func:`xcsvm.distributed._sweeps.llw_segment`, written as plainly as
possible, one coordinate at a time (Eqs. III.14 and III.16). Too slow for
real work; the tests compare the compiled kernels against them.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ww_pairs", "llw_segment"]


def _projected(grad: float, alpha: float, upper: float) -> float:
    if alpha <= 0.0:
        return max(grad, 0.0)
    if alpha >= upper:
        return min(grad, 0.0)
    return grad


def _ww_step(data, indices, indptr, sqnorm, upper, w_true, w_other, i, alpha, index, stale, shrink):
    if sqnorm[i] == 0.0 or (shrink and stale[index] >= 3):
        return 0.0
    cols, vals = indices[indptr[i]:indptr[i + 1]], data[indptr[i]:indptr[i + 1]]
    # Eq. III.16: dual gradient 1 - (w_y - w_c)^T x_i, Newton step / (2 k_i).
    grad = 1.0 - float(vals @ (w_true[cols] - w_other[cols]))
    old = alpha[index]
    projected = _projected(grad, old, upper[i])
    new = old if projected == 0.0 else min(max(old + grad / (2.0 * sqnorm[i]), 0.0), upper[i])
    if new == old:  # shrinking counts the visits without a move (Sec. 4.1.1)
        stale[index] = min(int(stale[index]) + 1, 255)
        return abs(projected)
    stale[index] = 0
    alpha[index] = new
    w_true[cols] += (new - old) * vals
    w_other[cols] -= (new - old) * vals
    return abs(projected)


def _merged_order(n_a, n_b):
    # Sample t of class a at time (t + 1/2) / n_a, of class b at (t + 1/2) / n_b;
    # ties go to a. Exact integer comparison, as in the compiled kernel.
    t_a = t_b = 0
    while t_a < n_a or t_b < n_b:
        if t_b >= n_b or (t_a < n_a and (2 * t_a + 1) * n_b <= (2 * t_b + 1) * n_a):
            yield "a", t_a
            t_a += 1
        else:
            yield "b", t_b
            t_b += 1


def ww_pairs(data, indices, indptr, sqnorm, upper, left, right,
             pair_left_row, pair_right_row, pair_left_class, pair_right_class,
             pair_alpha_offset, round_ptr, class_ptr, class_samples, positions,
             alpha, violation, n_threads=1, stale=None, shrink=False):
    """Reference of :func:`xcsvm.distributed._sweeps.ww_pairs` (same arguments).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> W = np.zeros((2, 2)); alpha = np.zeros(2); violation = np.zeros(1)
    >>> one = np.array([0]); idx = np.array([0, 1])
    >>> ww_pairs(X.data, X.indices, X.indptr.astype(np.int64), np.ones(2), np.ones(2),
    ...          W, W, one, one + 1, one, one + 1, one, np.array([0, 1]),
    ...          np.array([0, 1, 2]), idx, np.array([0, 0]), alpha, violation)
    >>> alpha.tolist(), W.tolist()
    ([0.5, 0.5], [[0.5, -0.5], [-0.5, 0.5]])
    """
    if stale is None:
        stale, shrink = np.zeros(len(alpha), dtype=np.uint8), False
    for p in range(len(pair_left_row)):
        a, b = pair_left_class[p], pair_right_class[p]
        off = pair_alpha_offset[p]
        n_a = class_ptr[a + 1] - class_ptr[a]
        n_b = class_ptr[b + 1] - class_ptr[b]
        w_left, w_right = left[pair_left_row[p]], right[pair_right_row[p]]
        worst = 0.0
        for side, t in _merged_order(n_a, n_b):
            if side == "a":  # alpha[i, b] for sample i of class a (Algorithm 5, line 16)
                pos = positions[class_ptr[a] + t]
                i = class_samples[class_ptr[a] + pos]
                v = _ww_step(data, indices, indptr, sqnorm, upper, w_left, w_right, i, alpha, off + pos,
                             stale, shrink)
            else:  # alpha[i, a] for sample i of class b (line 18)
                pos = positions[class_ptr[b] + t]
                i = class_samples[class_ptr[b] + pos]
                v = _ww_step(data, indices, indptr, sqnorm, upper, w_right, w_left, i, alpha,
                             off + n_a + pos, stale, shrink)
            worst = max(worst, v)
        violation[p] = worst


def llw_segment(data, indices, indptr, sqnorm, upper, labels, weights, classes,
                alpha, order, start, stop, margin, violation, n_threads=1):
    """Reference of :func:`xcsvm.distributed._sweeps.llw_segment` (same arguments).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.array([[2.0], [1.0]]))
    >>> W = np.zeros((1, 1)); alpha = np.zeros((1, 2)); violation = np.zeros(1)
    >>> llw_segment(X.data, X.indices, X.indptr.astype(np.int64), np.array([4.0, 1.0]),
    ...             np.ones(2), np.array([1, 0]), W, np.array([0]), alpha,
    ...             np.array([0, 1]), 0, 2, 1.0, violation)
    >>> alpha.tolist(), W.tolist(), violation.tolist()
    ([[0.25, 0.0]], [[-0.5]], [1.0])
    """
    for k, c in enumerate(classes):
        w = weights[k]
        worst = 0.0
        for t in range(start, stop):
            i = order[t]
            if labels[i] == c or sqnorm[i] == 0.0:
                continue
            cols, vals = indices[indptr[i]:indptr[i + 1]], data[indptr[i]:indptr[i + 1]]
            # Eq. III.14 with w_c = -X alpha_c + w_bar: dual gradient margin + w_c^T x_i.
            grad = margin + float(vals @ w[cols])
            old = alpha[k, i]
            projected = _projected(grad, old, upper[i])
            worst = max(worst, abs(projected))
            if projected == 0.0:
                continue
            new = min(max(old + grad / sqnorm[i], 0.0), upper[i])
            alpha[k, i] = new
            w[cols] -= (new - old) * vals
        violation[k] = max(violation[k], worst)
