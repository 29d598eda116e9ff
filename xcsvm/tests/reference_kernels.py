"""Pure-Python oracles of the compiled kernels, one coordinate at a time (test-only).

Written as plainly as possible from the thesis (Eq. III.14 for LLW, Eq. III.16
for WW) and far too slow for real work; the tests compare the compiled kernels
against them. Nothing in the installed package imports this module.
"""

from __future__ import annotations

import numpy as np

STALE_LIMIT = 3


def _row(data, indices, indptr, i):
    return indices[indptr[i] : indptr[i + 1]], np.asarray(
        data[indptr[i] : indptr[i + 1]], dtype=np.float64
    )


def _score(w, cols, vals, bias):
    return float(vals @ w[cols]) + (bias * w[-1] if bias else 0.0)


def _axpy(w, scale, cols, vals, bias):
    w[cols] += scale * vals
    if bias:
        w[-1] += scale * bias


def _box_step(old, gradient, curvature, upper):
    """The exact 1-D step and the absolute projected gradient at ``old``."""
    projected = gradient
    if (old <= 0.0 and gradient < 0.0) or (old >= upper and gradient > 0.0):
        projected = 0.0
    return min(max(old + gradient / curvature, 0.0), upper), abs(projected)


def _ww_step(w_true, w_other, cols, vals, k_i, u_i, bias, alpha, stale, index, shrink):
    """Eq. III.16 on one variable; returns (violation, visited)."""
    if u_i <= 0.0 or (shrink and stale[index] >= STALE_LIMIT):
        return 0.0, 0
    gradient = 1.0 - _score(w_true, cols, vals, bias) + _score(w_other, cols, vals, bias)
    old = alpha[index]
    new, violation = _box_step(old, gradient, 2.0 * k_i, u_i)
    if new == old:
        stale[index] = min(int(stale[index]) + 1, 255)
        return violation, 1
    stale[index] = 0
    alpha[index] = new
    _axpy(w_true, new - old, cols, vals, bias)
    _axpy(w_other, old - new, cols, vals, bias)
    return violation, 1


def ww_pairs(
    data,
    indices,
    indptr,
    sq_norms,
    upper,
    left,
    right,
    pair_left_row,
    pair_right_row,
    pair_left_class,
    pair_right_class,
    pair_alpha_offset,
    round_ptr,
    class_ptr,
    class_samples,
    positions,
    alpha,
    stale,
    violation,
    visited,
    bias=0.0,
    shrink=False,
    n_threads=1,
):
    """Oracle of :func:`xcsvm.distributed._sweeps.ww_pairs` (same arguments)."""
    for p in range(len(pair_left_row)):
        a, b = pair_left_class[p], pair_right_class[p]
        off = pair_alpha_offset[p]
        n_a = class_ptr[a + 1] - class_ptr[a]
        n_b = class_ptr[b + 1] - class_ptr[b]
        w_left, w_right = left[pair_left_row[p]], right[pair_right_row[p]]
        worst, count = 0.0, 0
        t_a = t_b = 0
        while t_a < n_a or t_b < n_b:  # sample t of a at time (t + 1/2) / n_a
            if t_b >= n_b or (t_a < n_a and (2 * t_a + 1) * n_b <= (2 * t_b + 1) * n_a):
                pos = positions[class_ptr[a] + t_a]
                i = class_samples[class_ptr[a] + pos]
                cols, vals = _row(data, indices, indptr, i)
                v, m = _ww_step(
                    w_left,
                    w_right,
                    cols,
                    vals,
                    sq_norms[i],
                    upper[i],
                    bias,
                    alpha,
                    stale,
                    off + pos,
                    shrink,
                )
                t_a += 1
            else:
                pos = positions[class_ptr[b] + t_b]
                i = class_samples[class_ptr[b] + pos]
                cols, vals = _row(data, indices, indptr, i)
                v, m = _ww_step(
                    w_right,
                    w_left,
                    cols,
                    vals,
                    sq_norms[i],
                    upper[i],
                    bias,
                    alpha,
                    stale,
                    off + n_a + pos,
                    shrink,
                )
                t_b += 1
            worst, count = max(worst, v), count + m
        violation[p], visited[p] = worst, count


def _ww_samples(problem, samples, targets, alpha, stale, W, shrink):
    """Every sample of ``samples`` against every class of ``targets`` (class-major ``W``)."""
    worst, count = 0.0, 0
    for i in samples:
        yi = problem.y[i]
        cols, vals = _row(problem.data, problem.indices, problem.indptr, i)
        for c in targets:
            if c < 0 or c == yi:
                continue
            v, m = _ww_step(
                W[yi],
                W[c],
                cols,
                vals,
                problem.sq_norms[i],
                problem.upper[i],
                problem.bias,
                alpha[i],
                stale[i],
                c,
                shrink,
            )
            worst, count = max(worst, v), count + m
    return worst, count


def ww_epoch(
    problem,
    group_sample_ptr,
    group_samples,
    group_class_ptr,
    group_classes,
    rounds,
    alpha,
    stale,
    W,
    shrink=False,
):
    """Oracle of one epoch of :func:`xcsvm.solvers.ww.ww_epoch_t` on a class-major ``W`` (K, columns).

    The tasks of a round touch disjoint classes and samples, so running them one
    after the other gives what the threads give.
    """
    worst, count = 0.0, 0

    def block(g, ptr, items):
        return items[ptr[g] : ptr[g + 1]]

    for table in rounds:
        for a, b in table:
            if a < 0 or b < 0:
                continue
            if a == b:
                v, m = _ww_samples(
                    problem,
                    block(a, group_sample_ptr, group_samples),
                    block(a, group_class_ptr, group_classes),
                    alpha,
                    stale,
                    W,
                    shrink,
                )
                worst, count = max(worst, v), count + m
                continue
            samples_a = block(a, group_sample_ptr, group_samples)
            samples_b = block(b, group_sample_ptr, group_samples)
            n_a, n_b, i_a, i_b = len(samples_a), len(samples_b), 0, 0
            while i_a < n_a or i_b < n_b:
                if i_b >= n_b or (i_a < n_a and i_a * n_b <= i_b * n_a):
                    v, m = _ww_samples(
                        problem,
                        samples_a[i_a : i_a + 1],
                        block(b, group_class_ptr, group_classes),
                        alpha,
                        stale,
                        W,
                        shrink,
                    )
                    i_a += 1
                else:
                    v, m = _ww_samples(
                        problem,
                        samples_b[i_b : i_b + 1],
                        block(a, group_class_ptr, group_classes),
                        alpha,
                        stale,
                        W,
                        shrink,
                    )
                    i_b += 1
                worst, count = max(worst, v), count + m
    return worst, count


def llw_pass(problem, samples, classes, alpha, W, margin=1.0):
    """Oracle of :func:`xcsvm.solvers.llw.llw_pass` without shrinking (rows of ``alpha``/``W`` = ``classes``)."""
    worst = 0.0
    for k, c in enumerate(classes):
        for i in samples:
            if problem.y[i] == c or problem.upper[i] <= 0.0:
                continue
            cols, vals = _row(problem.data, problem.indices, problem.indptr, i)
            # Eq. III.14 with w_c = -X alpha_c + w_bar: dual gradient margin + w_c^T x_i.
            gradient = margin + _score(W[k], cols, vals, problem.bias)
            old = alpha[k, i]
            new, violation = _box_step(old, gradient, problem.sq_norms[i], problem.upper[i])
            worst = max(worst, violation)
            alpha[k, i] = new
            _axpy(W[k], old - new, cols, vals, problem.bias)
    return worst


def class_pairs_of_epoch(groups, rounds) -> list[list[tuple[int, int]]]:
    """Which directed class pairs (sample class, target class) each round of a WW epoch optimises.

    A mirror of the loops of ``ww_epoch_t``: per round, the ``(a, b)`` with
    ``a != b`` such that samples of class ``a`` are optimised against class
    ``b``. ``groups[g]`` lists the classes of group (or block) ``g``; entries
    ``< 0`` (padding inside a fused block) are skipped, as the kernel does.
    """
    out = []
    for table in rounds:
        pairs = []
        for a, b in table:
            if a < 0 or b < 0:
                continue
            blocks = [(a, b)] if a == b else [(a, b), (b, a)]
            for ga, gb in blocks:
                pairs.extend(
                    (int(ca), int(cb))
                    for ca in groups[ga]
                    for cb in groups[gb]
                    if ca != cb and ca >= 0 and cb >= 0
                )
        out.append(pairs)
    return out
