"""Distributed Lee–Lin–Wahba with the auxiliary variable w̄ (Algorithm 1, Eqs. III.12–III.14).

Given w̄ the dual (Eq. III.4) splits into one independent problem per class
(Eq. III.13), so each rank optimises its own classes without talking to the
others, with the single-machine kernel :func:`xcsvm.solvers.llw.llw_pass`
(LLW's dual variables are stored per class there, so a rank passes its own
rows only). Every tenth of an epoch the w̄ block is optimised: with the
maintained ``w_c = -X alpha_c + w̄`` its optimum (Eq. III.12) amounts to
subtracting the class mean ``(1/C) sum_c w_c`` from every ``w_c``. The mean
is one buffer ``Allreduce`` (``MPI.SUM``) of a ``d``-vector: the only
communication of the solver. Afterwards ``sum_c w_c = 0``, so W is feasible
for the primal (Eq. III.2).
"""

from __future__ import annotations

import numpy as np

from xcsvm.solvers.driver import LLW_CHUNKS
from xcsvm.solvers.problem import SCORE_BLOCK, scores, squared_norm

__all__ = ["llw_epoch", "llw_objectives"]


def llw_epoch(
    problem,
    classes,
    class_row,
    weights,
    alpha,
    stale,
    order,
    comm,
    kernel,
    margin: float,
    n_threads: int = 1,
    shrink: bool = False,
) -> tuple[float, int]:
    """One LLW epoch on this rank's classes; returns this rank's ``(violation, n_visited)``.

    Parameters
    ----------
    problem : xcsvm.solvers.problem.Problem
        The training set.
    classes : numpy.ndarray of int32
        This rank's classes (row ``k`` of ``weights``, ``alpha`` and ``stale`` is ``classes[k]``).
    class_row : numpy.ndarray of int32
        Row of each class in ``weights`` (``-1``: another rank's).
    weights : numpy.ndarray, shape (len(classes), n_columns)
        Their weight vectors (updated in place).
    alpha, stale : numpy.ndarray, shape (len(classes), n_samples)
        Their dual variables and shrinking counters (updated in place).
    order : numpy.ndarray of int32
        This epoch's sample order.
    comm : CountingComm
        Communicator.
    kernel : callable
        :func:`xcsvm.solvers.llw.llw_pass`.
    margin : float
        1 (Eq. III.2) or ``1 / (C - 1)`` (original LLW).
    n_threads : int
        OpenMP threads over this rank's classes.
    shrink : bool
        Skip variables that did not move in their last 3 visits (Sec. 4.1.1).

    Returns
    -------
    (float, int)
    """
    violation, visited = 0.0, 0
    local_sum = np.empty(weights.shape[1])
    total = np.empty(weights.shape[1])
    for chunk in np.array_split(order, LLW_CHUNKS):
        if classes.size:
            v, m = kernel(
                problem.data,
                problem.indices,
                problem.indptr,
                problem.sq_norms,
                problem.upper,
                problem.y,
                np.ascontiguousarray(chunk),
                classes,
                class_row,
                alpha,
                stale,
                weights,
                problem.bias,
                float(margin),
                bool(shrink),
                int(n_threads),
            )
            violation, visited = max(violation, v), visited + m
        np.sum(weights, axis=0, out=local_sum)
        # Algorithm 1, lines 12-13: w̄ <- w̄ - mean_c w_c, i.e. w_c <- w_c - mean.
        comm.allreduce_sum(local_sum, total, kind="w_bar")
        weights -= total / problem.n_classes
    return violation, visited


def llw_objectives(problem, classes, weights, alpha, comm, margin: float, n_threads: int = 1):
    """Primal (Eq. III.2) and dual (Eq. III.4) objective, summed over all ranks.

    The primal is evaluated at the current W, which satisfies
    ``sum_c w_c = 0`` after each w̄ step; the dual ``sum_c -1/2 ||w_c||^2 +
    margin * sum alpha`` is a lower bound for every w̄.
    """
    hinge = 0.0
    # Scores in blocks of samples, so that no n x k matrix is ever held.
    for start in range(0, problem.n_samples if classes.size else 0, SCORE_BLOCK):
        stop = min(start + SCORE_BLOCK, problem.n_samples)
        losses = np.maximum(0.0, margin + scores(problem, weights, n_threads, start, stop))
        losses[problem.y[start:stop, None] == classes[None, :]] = 0.0
        hinge += float(problem.upper[start:stop] @ losses.sum(axis=1))
    norm2, hinge, alpha_sum = comm.sum_scalars(
        [squared_norm(weights), hinge, float(alpha.sum())], kind="objective"
    )
    return 0.5 * norm2 + hinge, -0.5 * norm2 + margin * alpha_sum
