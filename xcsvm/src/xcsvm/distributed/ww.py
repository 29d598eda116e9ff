"""Distributed Weston–Watkins: the two-level 1-factorization schedule (§4.2.5).

Rank ``r`` owns the classes ``owned[r]`` (:func:`~xcsvm.solvers.schedule.partition_classes`)
and their weight rows. One epoch is

1. *inside the rank*: every pair of its own classes, in the rounds of
   Algorithm 4, the pairs of a round optimised by OpenMP threads;
2. *across ranks*: the ranks themselves follow Algorithm 4 (the overlay
   schedule); when ranks ``A < B`` are matched, all pairs ``(a, b)`` with
   ``a`` of A and ``b`` of B are optimised by moving whole class bundles.

So every class pair meets exactly once per epoch. To keep *both* matched
ranks busy, each rank's classes are split into halves ``A1, A2`` (``B1, B2``)
of equal sample count, and the four sub-blocks are done in two steps with
three bundle exchanges (each ``Sendrecv`` both ways, non-zeros only when that
is smaller)::

    exchange 1: A -> B: A2         B -> A: B1
    step 1:     A does A1 x B1     B does A2 x B2
    exchange 2: A -> B: A1         B -> A: A2 (back home)
    step 2:     A does A2 x B1     B does A1 x B2
    exchange 3: A -> B: B1 (home)  B -> A: A1 (home)

A sub-block is always done on the same rank, so its dual variables live
there and never travel. The updates are Eq. III.16 (Algorithm 3, the ``box_step`` of the
single-machine kernel) and the same coordinates are visited as in the
single-machine solver, in another order (inside a pair the samples of the two
classes are interleaved evenly); the result is the same optimum within the
tolerance. Weight rows carry the intercept column when the problem has one
(``bias != 0``), so it travels with its class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from xcsvm.solvers.problem import SCORE_BLOCK, scores, squared_norm
from xcsvm.solvers.schedule import bipartite_rounds, one_factorization, split_in_halves

__all__ = ["WWPlan", "plan_ww", "ww_epoch", "ww_objectives"]


@dataclass
class _Task:
    """Pairs handed to one kernel call: rows of ``left``/``right`` and their dual blocks."""

    left_row: np.ndarray
    right_row: np.ndarray
    left_class: np.ndarray
    right_class: np.ndarray
    alpha_offset: np.ndarray
    round_ptr: np.ndarray

    @property
    def n_pairs(self) -> int:
        return int(self.left_row.size)


@dataclass
class _CrossRound:
    partner: int
    low: bool  # this rank plays "A" (the lower rank of the pair)
    steps: list = field(default_factory=list)  # two _Task


@dataclass
class WWPlan:
    """Everything one rank needs to run its part of a WW epoch."""

    rank: int
    owned: list  # owned[r]: class indices of rank r
    halves: list  # halves[r]: (first half, second half) of rank r
    intra: _Task
    cross: list  # one _CrossRound per overlay round (None when sitting out)
    n_alpha: int

    @property
    def mine(self) -> np.ndarray:
        return self.owned[self.rank]

    def rows_of(self, classes) -> np.ndarray:
        """Rows of this rank's weight block that hold ``classes``."""
        return np.searchsorted(self.mine, classes).astype(np.int64)


class _Builder:
    def __init__(self, class_counts):
        self.counts = np.asarray(class_counts, dtype=np.int64)
        self.n_alpha = 0

    def task(self, rounds, left_rows, right_rows, left_classes, right_classes) -> _Task:
        columns: list[list[int]] = [[] for _ in range(5)]
        round_ptr = [0]
        for pairs in rounds:
            for j, k in pairs:
                a, b = left_classes[j], right_classes[k]
                for column, value in zip(
                    columns, (left_rows[j], right_rows[k], a, b, self.n_alpha)
                ):
                    column.append(value)
                # The block holds alpha[i, b] for i in a, then alpha[i, a] for i in b.
                self.n_alpha += int(self.counts[a] + self.counts[b])
            round_ptr.append(len(columns[0]))
        left_row, right_row, left_class, right_class, alpha_offset = (
            np.asarray(column, dtype=np.int64) for column in columns
        )
        return _Task(
            left_row,
            right_row,
            left_class,
            right_class,
            alpha_offset,
            round_ptr=np.asarray(round_ptr, dtype=np.int64),
        )

    def bipartite(self, left_rows, right_rows, left_classes, right_classes) -> _Task:
        rounds = bipartite_rounds(len(left_classes), len(right_classes))
        return self.task(rounds, left_rows, right_rows, left_classes, right_classes)


def plan_ww(owned, class_counts, rank: int) -> WWPlan:
    """Build rank ``rank``'s schedule: its intra-rank task and its cross-rank steps.

    Parameters
    ----------
    owned : list of numpy.ndarray
        Classes of every rank (from :func:`~xcsvm.solvers.schedule.partition_classes`).
    class_counts : array-like of int
        Samples per class.
    rank : int
        This rank.

    Returns
    -------
    WWPlan

    Examples
    --------
    >>> owned = [np.array([0, 2]), np.array([1, 3])]
    >>> plan = plan_ww(owned, [3, 3, 3, 3], rank=0)
    >>> plan.intra.n_pairs, [step.n_pairs for step in plan.cross[0].steps]
    (1, [1, 1])
    """
    n_ranks = len(owned)
    halves = [split_in_halves(classes, class_counts) for classes in owned]
    builder = _Builder(class_counts)
    mine = np.asarray(owned[rank], dtype=np.int64)
    local = np.arange(mine.size, dtype=np.int64)
    intra = builder.task(one_factorization(mine.size), local, local, mine, mine)
    plan = WWPlan(rank=rank, owned=owned, halves=halves, intra=intra, cross=[], n_alpha=0)
    for pairs in one_factorization(n_ranks):
        partner = next((b if a == rank else a for a, b in pairs if rank in (a, b)), None)
        if partner is None:
            plan.cross.append(None)
            continue
        low = rank < partner
        if low:
            a1, a2 = halves[rank]
            b1, _ = halves[partner]
            # Step 1: A1 (home rows) x B1 (visitor buffer rows 0..);
            # step 2: A2 (home rows, back from B) x B1 (same visitor buffer).
            visitor = np.arange(b1.size, dtype=np.int64)
            steps = [
                builder.bipartite(plan.rows_of(a1), visitor, a1, b1),
                builder.bipartite(plan.rows_of(a2), visitor, a2, b1),
            ]
        else:
            a1, a2 = halves[partner]
            _, b2 = halves[rank]
            # Step 1: A2 (visitor) x B2 (home); step 2: A1 (visitor) x B2 (home).
            steps = [
                builder.bipartite(np.arange(a2.size, dtype=np.int64), plan.rows_of(b2), a2, b2),
                builder.bipartite(np.arange(a1.size, dtype=np.int64), plan.rows_of(b2), a1, b2),
            ]
        plan.cross.append(_CrossRound(partner=partner, low=low, steps=steps))
    plan.n_alpha = builder.n_alpha
    return plan


def ww_epoch(
    plan: WWPlan,
    problem,
    class_ptr,
    class_samples,
    weights,
    alpha,
    stale,
    positions,
    comm,
    kernel,
    n_threads: int = 1,
    exchange: str = "auto",
    shrink: bool = False,
) -> tuple[float, int]:
    """One WW epoch on this rank; returns this rank's ``(violation, n_visited)``.

    ``weights`` (this rank's rows, ``len(plan.mine) x n_columns``), ``alpha``
    and ``stale`` (``plan.n_alpha``; shrinking counters) are updated in place;
    all ranks must call it together. ``kernel`` is
    :func:`xcsvm.distributed._sweeps.ww_pairs`.

    Examples
    --------
    See :class:`xcsvm.distributed.DistributedWWClassifier`.
    """
    from .exchange import exchange_rows

    totals = [0.0, 0]

    def run(task, left, right):
        if task.n_pairs == 0:
            return
        violation = np.zeros(task.n_pairs)
        visited = np.zeros(task.n_pairs, dtype=np.int64)
        kernel(
            problem.data,
            problem.indices,
            problem.indptr,
            problem.sq_norms,
            problem.upper,
            left,
            right,
            task.left_row,
            task.right_row,
            task.left_class,
            task.right_class,
            task.alpha_offset,
            task.round_ptr,
            class_ptr,
            class_samples,
            positions,
            alpha,
            stale,
            violation,
            visited,
            problem.bias,
            bool(shrink),
            int(n_threads),
        )
        totals[0] = max(totals[0], float(violation.max()))
        totals[1] += int(visited.sum())

    run(plan.intra, weights, weights)
    for cross in plan.cross:
        if cross is None:
            continue
        partner = cross.partner
        if cross.low:
            a1, a2 = plan.halves[plan.rank]
            b1, _ = plan.halves[partner]
            rows_a1, rows_a2 = plan.rows_of(a1), plan.rows_of(a2)
            visitor = exchange_rows(comm, partner, weights[rows_a2], b1.size, exchange)
            run(cross.steps[0], weights, visitor)
            weights[rows_a2] = exchange_rows(comm, partner, weights[rows_a1], a2.size, exchange)
            run(cross.steps[1], weights, visitor)
            weights[rows_a1] = exchange_rows(comm, partner, visitor, a1.size, exchange)
        else:
            a1, a2 = plan.halves[partner]
            b1, b2 = plan.halves[plan.rank]
            rows_b1 = plan.rows_of(b1)
            visitor = exchange_rows(comm, partner, weights[rows_b1], a2.size, exchange)
            run(cross.steps[0], visitor, weights)
            visitor = exchange_rows(comm, partner, visitor, a1.size, exchange)
            run(cross.steps[1], visitor, weights)
            weights[rows_b1] = exchange_rows(comm, partner, visitor, b1.size, exchange)
    return totals[0], int(totals[1])  # totals is list[float] to mypy; totals[1] only ever adds ints


def ww_objectives(
    plan: WWPlan, problem, weights, alpha, comm, n_threads: int = 1
) -> tuple[float, float]:
    """Primal (Eq. III.3) and dual (Eq. III.5) objective, summed over all ranks.

    Each rank scores its own classes; the true-class score ``w_{y_i}^T x_i``
    comes from the rank that owns ``y_i`` through one ``Allreduce`` of
    ``n_samples`` doubles. Samples are scored a block at a time.
    """
    mine = plan.mine
    row_of_label = np.full(problem.n_classes, -1, dtype=np.int64)
    row_of_label[mine] = np.arange(mine.size)
    rows = row_of_label[problem.y]
    true_score = np.zeros(problem.n_samples)
    blocks = [
        (s, min(s + SCORE_BLOCK, problem.n_samples))
        for s in range(0, problem.n_samples if mine.size else 0, SCORE_BLOCK)
    ]
    for start, stop in blocks:
        here = np.flatnonzero(rows[start:stop] >= 0)
        if here.size:
            S = scores(problem, weights, n_threads, start, stop)
            true_score[start + here] = S[here, rows[start + here]]
    total_true = np.empty_like(true_score)
    comm.allreduce_sum(true_score, total_true, kind="objective")
    hinge = 0.0
    for start, stop in blocks:
        losses = np.maximum(
            0.0,
            1.0 - total_true[start:stop, None] + scores(problem, weights, n_threads, start, stop),
        )
        here = np.flatnonzero(rows[start:stop] >= 0)
        losses[here, rows[start + here]] = 0.0  # no loss term for c = y_i
        hinge += float(problem.upper[start:stop] @ losses.sum(axis=1))
    norm2, hinge, alpha_sum = comm.sum_scalars(
        [squared_norm(weights), hinge, float(alpha.sum())], kind="objective"
    )
    return 0.5 * norm2 + hinge, -0.5 * norm2 + alpha_sum
