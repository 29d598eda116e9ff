"""Distributed Lee–Lin–Wahba with the auxiliary variable w̄ (Algorithm 1, Eqs. III.12–III.14).

Given w̄ the dual (Eq. III.4) splits into one independent problem per class
(Eq. III.13), so each rank optimises its own classes without talking to the
others. Every tenth of an epoch the w̄ block is optimised: with the
maintained ``w_c = -X alpha_c + w̄`` its optimum (Eq. III.12) amounts to
subtracting the class mean ``(1/C) sum_c w_c`` from every ``w_c``. The mean
is one buffer ``Allreduce`` (``MPI.SUM``) of a ``d``-vector: the only
communication of the solver. Afterwards ``sum_c w_c = 0``, so W is feasible
for the primal (Eq. III.2).
"""
from __future__ import annotations

import numpy as np

__all__ = ["llw_epoch", "llw_objectives", "SolverKernelLLW", "N_SEGMENTS"]

#: w̄ is recomputed after each tenth of an epoch (§4.1.1).
N_SEGMENTS = 10


class SolverKernelLLW:
    """The single-machine LLW kernel (:func:`xcsvm.solvers.llw.llw_pass`) behind the ``llw_segment`` signature.

    The distributed LLW's hot path: LLW's dual variables are stored per class
    (``alpha[row, i]``) in both, so a rank passes its own rows only. This
    adapter converts the index arrays once per fit (``y``, ``classes`` and
    the row map to int32; ``indptr`` to the dtype of ``indices``) and keeps
    the kernel's shrinking counters; set :attr:`shrink` to skip variables
    that did not move in their last 3 visits (Sec. 4.1.1).

    Parameters
    ----------
    problem : Problem
        The training set.
    classes : numpy.ndarray of int64
        This rank's classes (row ``k`` of ``weights`` and ``alpha`` is ``classes[k]``).

    Examples
    --------
    >>> from xcsvm.distributed.data import prepare_problem
    >>> problem = prepare_problem([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], [0, 1, 2])
    >>> kernel = SolverKernelLLW(problem, np.array([0, 2]))
    >>> W, alpha, v = np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(2)
    >>> kernel(problem.data, problem.indices, problem.indptr, problem.sqnorm, problem.upper,
    ...        problem.labels, W, np.array([0, 2]), alpha, np.arange(3), 0, 3, 1.0, v, 1)
    >>> alpha.round(3).tolist()
    [[0.0, 0.25, 0.25], [1.0, 0.25, 0.0]]
    """

    def __init__(self, problem, classes):
        from xcsvm.solvers.llw import llw_pass

        self._llw_pass = llw_pass
        if problem.data.size < 2**31:
            self._indices, self._indptr = problem.indices, problem.indptr.astype(np.int32)
        else:
            self._indices, self._indptr = problem.indices.astype(np.int64), problem.indptr
        self._y = problem.labels.astype(np.int32)
        self._classes = np.asarray(classes, dtype=np.int32)
        self._class_row = np.full(problem.n_classes, -1, dtype=np.int32)
        self._class_row[self._classes] = np.arange(self._classes.size, dtype=np.int32)
        self._stale = np.zeros((self._classes.size, problem.n_samples), dtype=np.uint8)
        self.shrink = False

    def __call__(self, data, indices, indptr, sqnorm, upper, labels, weights, classes, alpha,
                 order, start, stop, margin, violation, n_threads):
        samples = np.ascontiguousarray(order[start:stop], dtype=np.int32)
        worst, _ = self._llw_pass(data, self._indices, self._indptr, sqnorm, upper, self._y,
                                  samples, self._classes, self._class_row, alpha, self._stale,
                                  weights, 0.0, float(margin), bool(self.shrink), int(n_threads))
        np.maximum(violation, worst, out=violation)


def llw_epoch(problem, classes, weights, alpha, order, comm, kernel, margin: float,
              n_threads: int = 1) -> float:
    """One LLW epoch on this rank's classes; returns this rank's largest violation.

    Parameters
    ----------
    problem : Problem
        The training set.
    classes : numpy.ndarray of int64
        This rank's classes.
    weights : numpy.ndarray, shape (len(classes), d)
        Their weight vectors (updated in place).
    alpha : numpy.ndarray, shape (len(classes), n_samples)
        Their dual variables (updated in place).
    order : numpy.ndarray of int64
        This epoch's sample order (the same on all ranks).
    comm : CountingComm
        Communicator.
    kernel : callable
        :func:`xcsvm.distributed._sweeps.llw_segment` or its reference.
    margin : float
        1 (Eq. III.2) or ``1 / (C - 1)`` (original LLW).
    n_threads : int
        OpenMP threads over this rank's classes.

    Returns
    -------
    float

    Examples
    --------
    See :func:`xcsvm.distributed.fit_distributed`.
    """
    violation = np.zeros(classes.size)
    bounds = np.linspace(0, order.size, N_SEGMENTS + 1).round().astype(np.int64)
    local_sum = np.empty(problem.n_features)
    total = np.empty(problem.n_features)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if classes.size:
            kernel(problem.data, problem.indices, problem.indptr, problem.sqnorm, problem.upper,
                   problem.labels, weights, classes, alpha, order, int(start), int(stop),
                   float(margin), violation, n_threads)
        np.sum(weights, axis=0, out=local_sum)
        # Algorithm 1, lines 12-13: w̄ <- w̄ - mean_c w_c, i.e. w_c <- w_c - mean.
        comm.allreduce_sum(local_sum, total, kind="w_bar")
        weights -= total / problem.n_classes
    return float(violation.max()) if violation.size else 0.0


def llw_objectives(problem, classes, weights, alpha, comm, margin: float) -> tuple[float, float]:
    """Primal (Eq. III.2) and dual (Eq. III.4) objective, summed over all ranks.

    The primal is evaluated at the current W, which satisfies
    ``sum_c w_c = 0`` after each w̄ step; the dual ``sum_c -1/2 ||w_c||^2 +
    margin * sum alpha`` is a lower bound for every w̄.
    """
    X = problem.matrix()
    hinge = 0.0
    # Scores in blocks of samples, so that no n x k matrix is ever held.
    for start in range(0, problem.n_samples if classes.size else 0, 4096):
        block = slice(start, start + 4096)
        losses = np.maximum(0.0, margin + np.asarray(X[block] @ weights.T))
        losses[problem.labels[block, None] == classes[None, :]] = 0.0
        hinge += float(problem.upper[block] @ losses.sum(axis=1))
    norm2 = float(np.einsum("ij,ij->", weights, weights))
    norm2, hinge, alpha_sum = comm.sum_scalars([norm2, hinge, float(alpha.sum())], kind="objective")
    return 0.5 * norm2 + hinge, -0.5 * norm2 + margin * alpha_sum
