"""Multi-label Weston-Watkins over MPI ranks: :func:`solve_multilabel_distributed`.

The dual of :mod:`xcsvm.multilabel` (one variable ``a_{i,p,c}`` per sample,
positive label ``p`` and negative label ``c``) with the classes spread over
the ranks: rank ``r`` owns the class bundle ``r`` (the groups of
:func:`~xcsvm.solvers.schedule.balanced_groups`, one per rank) and its weight
columns. An epoch is the two-level schedule of the multi-class solver:

* the rank's own task ``(r, r)``: the variables whose positive and negative
  label both lie in its bundle;
* one round per 1-factorization round of the bundles
  (:func:`~xcsvm.solvers.schedule.one_factorization`): the lower rank ``a``
  of a matched pair ``(a, b)`` receives ``b``'s weight columns, runs the task
  ``(a, b)`` (positive in one bundle, negative in the other), and sends them
  back. A variable is therefore owned by the lower of the ranks holding its
  positive and negative class; no two ranks write the same variable or the
  same weight column at the same time.

Every step is :func:`xcsvm.solvers.multilabel.ml_epoch` called on one task
(one round, one slot) with a two-bundle weight buffer, so the arithmetic is
the thread kernel's. Every rank holds the training data (as in the
multi-class solver) and a dual array of the full shape ``(P, K)`` in which
only its own variables are non-zero; the epoch loop is
:func:`xcsvm.solvers.driver.run_epochs`. At the end, ``W`` and ``alpha`` are
summed onto rank 0 (one ``Reduce`` each), which then fits the decision rule
exactly as the thread version does.

Limits (README, "Multi-label WW"): the higher rank of a pair waits while the
lower one runs the cross task (the multi-class solver's half-bundle swap is
not implemented here), a rank runs one task at a time (``n_threads`` is not
used inside a rank), and the dual array is not distributed by rows.
"""

from __future__ import annotations

import numpy as np

from xcsvm.multilabel import (
    PAD,
    MultiLabelProblem,
    MultiLabelResult,
    _Schedule,
    _scores,
    new_dual,
    ranking_losses,
)
from xcsvm.solvers.driver import run_epochs
from xcsvm.solvers.multilabel import ml_epoch
from xcsvm.solvers.schedule import one_factorization

from .exchange import CountingComm

__all__ = ["solve_multilabel_distributed"]


def _padded(width: int) -> int:
    return -(-max(width, 1) // PAD) * PAD


def _check_same_data(problem: MultiLabelProblem, comm: CountingComm) -> None:
    from .data import digest_arrays

    mine = np.frombuffer(
        digest_arrays(
            problem.data,
            problem.indices,
            problem.indptr,
            problem.label_ptr,
            problem.labels,
            problem.upper,
            np.array([problem.n_features, problem.n_classes, problem.bias]),
        ),
        dtype=np.uint8,
    )
    everyone = np.empty((comm.size, mine.size), dtype=np.uint8)
    comm.comm.Allgather(mine, everyone)
    comm.bytes_sent["data"] += mine.nbytes
    different = [r for r in range(comm.size) if not np.array_equal(everyone[r], everyone[0])]
    if different:
        raise ValueError(
            f"rank(s) {different} were given other training data than rank 0; every rank must "
            "call fit with the same X, Y, C and sample_weight"
        )


def solve_multilabel_distributed(
    problem: MultiLabelProblem,
    comm: CountingComm,
    *,
    tol: float = 0.1,
    max_iter: int = 1000,
    shrinking: bool = True,
    n_threads: int = 1,
    random_state=None,
    verbose: int = 0,
    alpha: np.ndarray | None = None,
    check_data: bool = True,
) -> MultiLabelResult:
    """Multi-label WW dual coordinate ascent with the class bundles spread over the ranks of ``comm``.

    Every rank calls it with the same problem. The stopping and shrinking
    rules are those of :func:`xcsvm.multilabel.solve_multilabel` (the shared
    :func:`~xcsvm.solvers.driver.run_epochs`); on one rank, with the same
    ``random_state``, it runs the thread solver's epochs on one group exactly.

    Parameters
    ----------
    problem : MultiLabelProblem
        From :func:`xcsvm.multilabel.prepare_multilabel`, the same on every rank.
    comm : CountingComm
        The ranks.
    tol : float, default=0.1
        Stopping violation (largest projected gradient of an epoch, over all ranks).
    max_iter : int, default=1000
        Maximal number of epochs.
    shrinking : bool, default=True
        Skip variables that did not move in 3 visits.
    n_threads : int, default=1
        Accepted for the estimator's interface; a rank runs one task at a time.
    random_state : int, RandomState or None, default=None
        Seed of the per-epoch shuffles.
    verbose : int, default=0
        >= 1: per-epoch table on rank 0.
    alpha : None
        Warm starts are not available over MPI (must be None).
    check_data : bool, default=True
        Compare a digest of the problem across ranks first.

    Returns
    -------
    MultiLabelResult
        ``W`` (n_labels, n_columns) and ``alpha`` (P, n_labels) on rank 0, None
        elsewhere; ``n_iter``, ``converged``, ``history`` and the final
        ``primal`` and ``dual`` objectives on every rank.
    """
    from mpi4py import MPI
    from sklearn.utils import check_random_state

    if alpha is not None:
        raise ValueError("warm_start=True is not available over MPI; use warm_start=False")
    if check_data and comm.size > 1:
        _check_same_data(problem, comm)
    rank, size = comm.rank, comm.size
    rng = check_random_state(random_state)
    K, n, ncol = problem.n_classes, problem.n_samples, problem.n_columns
    schedule = _Schedule(
        problem, size, multiple=1
    )  # bundle g belongs to rank g (ranks >= G hold none)
    G = schedule.n_groups
    widths = np.diff(schedule.group_class_ptr)
    mine = schedule.groups[rank] if rank < G else np.empty(0, dtype=np.int64)
    width_a = int(widths[rank]) if rank < G else 0
    offset = _padded(int(widths.max()))
    WT = np.zeros(
        (ncol, 2 * offset)
    )  # own bundle in columns [0, width_a), the visitor's from `offset`
    dual, stale = new_dual(problem)
    group_col0 = np.zeros(G, dtype=np.int32)
    partners = []
    for pairs in one_factorization(G):
        partner = next((b if a == rank else a for a, b in pairs if rank in (a, b)), None)
        partners.append(partner)

    def run(a: int, b: int, perm: np.ndarray, shrink: bool) -> tuple[float, int]:
        mask = (
            schedule.has_positive[a]
            if a == b
            else schedule.has_positive[a] | schedule.has_positive[b]
        )
        samples = np.ascontiguousarray(perm[mask[perm]], dtype=np.int32)
        if samples.size == 0:
            return 0.0, 0
        group_col0[a] = 0
        group_col0[b] = 0 if a == b else offset
        return ml_epoch(
            *problem.csr_arrays,
            problem.sq_norms,
            problem.upper,
            problem.label_ptr,
            problem.labels,
            schedule.class_group,
            schedule.class_pos,
            schedule.group_class_ptr,
            schedule.group_classes,
            group_col0,
            np.array([[[a, b]]], dtype=np.int32),
            np.array([0, samples.size], dtype=np.int32),
            samples,
            dual,
            stale,
            WT,
            schedule.scratch,
            schedule.scratch_index,
            schedule.scratch_flag,
            problem.bias,
            shrink,
            1,
        )

    def epoch(shrink: bool) -> tuple[float, int]:
        perm = rng.permutation(n)  # the thread solver's draw: one rank replays it exactly
        violation, visited = 0.0, 0
        if rank < G:
            v, m = run(rank, rank, perm, shrink)
            violation, visited = max(violation, v), visited + m
        for partner in partners:
            if partner is None:
                continue
            if rank < partner:
                width_b = int(widths[partner])
                visitor = np.empty((ncol, width_b))
                comm.comm.Recv(visitor, source=partner, tag=11)
                WT[:, offset : offset + width_b] = visitor
                v, m = run(rank, partner, perm, shrink)
                violation, visited = max(violation, v), visited + m
                back = np.ascontiguousarray(WT[:, offset : offset + width_b])
                comm.comm.Send(back, dest=partner, tag=12)
                comm.bytes_sent["bundle"] += back.nbytes
            else:
                own = np.ascontiguousarray(WT[:, :width_a])
                comm.comm.Send(own, dest=partner, tag=11)
                comm.bytes_sent["bundle"] += own.nbytes
                comm.comm.Recv(own, source=partner, tag=12)
                WT[:, :width_a] = own
        violation = comm.allreduce_max(violation, kind="control")
        visited = int(comm.sum_scalars([visited], kind="control")[0])
        return violation, visited

    def objectives() -> tuple[float, float]:
        S = np.zeros((n, K))
        if width_a:
            S[:, mine] = _scores(problem, np.ascontiguousarray(WT[:, :width_a].T))
        total = np.empty_like(S)
        comm.allreduce_sum(S, total, kind="objective")
        losses = ranking_losses(total, problem.label_ptr, problem.labels)
        norm2, alpha_sum = comm.sum_scalars(
            [float(np.sum(WT[:, :width_a] ** 2)), float(dual.sum())], kind="objective"
        )
        return 0.5 * norm2 + float(problem.upper @ losses), alpha_sum - 0.5 * norm2

    n_iter, converged, history = run_epochs(
        epoch,
        tol=tol,
        max_iter=max_iter,
        shrinking=shrinking,
        n_variables=problem.n_variables,
        objectives=objectives,
        show=verbose > 0 and rank == 0,
        evaluate=verbose > 0,
        label=f"WW multi-label on {size} rank(s)",
    )
    primal, dual_objective = objectives()
    W_mine = np.zeros((K, ncol))
    W_mine[mine] = WT[:, :width_a].T
    W = np.empty_like(W_mine) if rank == 0 else None
    comm.comm.Reduce(W_mine, W, op=MPI.SUM, root=0)
    comm.bytes_sent["gather"] += W_mine.nbytes if size > 1 else 0
    alpha_all = np.empty_like(dual) if rank == 0 else None
    comm.comm.Reduce(dual, alpha_all, op=MPI.SUM, root=0)
    comm.bytes_sent["gather"] += dual.nbytes if size > 1 else 0
    return MultiLabelResult(
        W=W,
        alpha=alpha_all,
        n_iter=n_iter,
        converged=converged,
        history=history,
        primal=primal,
        dual=dual_objective,
        owned=[
            np.asarray(schedule.groups[r]) if r < G else np.empty(0, dtype=np.int64)
            for r in range(size)
        ],
    )
