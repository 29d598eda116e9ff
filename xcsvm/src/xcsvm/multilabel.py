"""Multi-label Weston-Watkins: the pairwise ranking hinge of our reading of Eq. III.17.

``WWClassifier().fit(X, Y)`` with ``Y`` a 0/1 indicator matrix (n, K) minimises::

    1/2 sum_c ||w_c||^2 + sum_i u_i sum_{p in Y_i} sum_{c not in Y_i} max(0, 1 - (w_p - w_c)^T x_i)

with ``u_i = C * sample_weight_i`` (the intercept, when fitted, is the weight of
an appended constant feature, as in the multi-class case). This module holds
the Python side of the solver: the dual layout, the class-group schedule (the
1-factorization of :mod:`xcsvm.solvers.schedule`), the epoch loop with
shrinking and stopping, the objectives and the decision rule of ``predict``.
The C-level steps are :func:`xcsvm.solvers.multilabel.ml_epoch`; the
derivation is in ``solvers/README.md`` ("Multi-label WW").

A sample whose label set is empty or holds every label has no dual variable
(it has no (positive, negative) pair) and contributes nothing to the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from xcsvm.solvers import sparse_ops
from xcsvm.solvers.multilabel import ml_epoch
from xcsvm.solvers.problem import prepare_problem
from xcsvm.solvers.schedule import balanced_groups, ww_rounds

__all__ = [
    "MultiLabelProblem",
    "prepare_multilabel",
    "solve_multilabel",
    "primal_from_dual",
    "objectives",
    "zero_outside_dual_support",
    "fit_decision_rules",
    "apply_decision_rule",
]

#: The rule of ``predict`` (chosen by ``benchmarks/bench_multilabel.py``, see BENCHMARKS.md).
DECISION_RULE = "top_k"
#: Marks ``stale[r, c]`` for a label ``c`` of the sample of row ``r``: not a variable.
EXCLUDED = 255
#: As in the multi-class driver: every 10th epoch visits all variables.
UNSHRINK_PERIOD = 10
#: Groups hold multiples of 8 classes (a cache line of weights) and start on
#: 128-byte boundaries (16 doubles), as in the multi-class WW driver.
GROUP_MULTIPLE = 8
PAD = 16


@dataclass
class MultiLabelProblem:
    """Arrays of one multi-label training problem (layout of ``ml_epoch``)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_features: int
    n_classes: int
    label_ptr: np.ndarray  # int32 (n + 1)
    labels: np.ndarray  # int32, sorted within each sample
    upper: np.ndarray
    sq_norms: np.ndarray
    bias: float

    @property
    def n_samples(self) -> int:
        return self.label_ptr.shape[0] - 1

    @property
    def n_columns(self) -> int:
        return self.n_features + (1 if self.bias != 0.0 else 0)

    @property
    def csr_arrays(self):
        return self.data, self.indices, self.indptr

    @property
    def n_labels(self) -> np.ndarray:
        return np.diff(self.label_ptr)

    @property
    def n_variables(self) -> int:
        m = self.n_labels.astype(np.int64)
        return int(np.sum(m * (self.n_classes - m)))

    @property
    def sample_of_row(self) -> np.ndarray:
        """Sample of every dual row (one row per (sample, positive label))."""
        return np.repeat(np.arange(self.n_samples, dtype=np.int64), self.n_labels)

    def X(self):
        return sp.csr_matrix(
            (self.data, self.indices, self.indptr), shape=(self.n_samples, self.n_features)
        )


def prepare_multilabel(X, Y, upper, bias=0.0) -> MultiLabelProblem:
    """Build the problem from CSR ``X`` and a 0/1 indicator ``Y`` (dense or sparse, (n, K)).

    The checks on X (overflowing or vanishing row norms, all-zero rows without
    an intercept) are those of :func:`xcsvm.solvers.problem.prepare_problem`.

    Parameters
    ----------
    X : sparse matrix of shape (n_samples, n_features)
        Training data (CSR float32/float64 is used without a copy).
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of every sample's label set.
    upper : array-like of shape (n_samples,)
        Dual box bound ``u_i = C * sample_weight_i`` of every sample.
    bias : float, default=0.0
        Value of the appended constant feature (0: no intercept).

    Returns
    -------
    MultiLabelProblem
    """
    Y = sp.csr_matrix(Y)
    Y.eliminate_zeros()
    Y.sum_duplicates()
    Y.sort_indices()
    n, K = Y.shape
    base = prepare_problem(X, np.zeros(n, dtype=np.int32), K, upper, bias)
    return MultiLabelProblem(
        data=base.data,
        indices=base.indices,
        indptr=base.indptr,
        n_features=base.n_features,
        n_classes=K,
        label_ptr=np.ascontiguousarray(Y.indptr, dtype=np.int32),
        labels=np.ascontiguousarray(Y.indices, dtype=np.int32),
        upper=base.upper,
        sq_norms=base.sq_norms,
        bias=base.bias,
    )


def excluded_mask(problem: MultiLabelProblem):
    """``(rows, cols)`` of the (row, label of the same sample) entries that are not variables."""
    m = problem.n_labels.astype(np.int64)
    rows_of_sample = problem.label_ptr[:-1].astype(np.int64)
    sample = problem.sample_of_row
    per_row = m[sample]  # every row excludes all labels of its sample
    rows = np.repeat(np.arange(sample.size), per_row)
    start = np.repeat(rows_of_sample[sample], per_row)
    offset = np.arange(rows.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    cols = problem.labels[start + offset]
    return rows, cols


def new_dual(problem: MultiLabelProblem):
    """Zero dual variables (P, K) and shrinking counters with the excluded entries marked."""
    P, K = int(problem.label_ptr[-1]), problem.n_classes
    alpha = np.zeros((P, K))
    stale = np.zeros((P, K), dtype=np.uint8)
    rows, cols = excluded_mask(problem)
    stale[rows, cols] = EXCLUDED
    return alpha, stale


def coefficient_matrix(problem: MultiLabelProblem, alpha) -> sp.csr_matrix:
    """``M`` (n, K) with ``w_k = sum_i M[i, k] x_i``: ``+sum_c a_{i,k,c}`` for a positive k, ``-sum_p a_{i,p,k}`` else."""
    sample = problem.sample_of_row
    n, K = problem.n_samples, problem.n_classes
    negative = sp.csr_matrix(alpha)
    M = -(
        sp.csr_matrix(
            (np.ones(sample.size), (sample, np.arange(sample.size))), shape=(n, sample.size)
        )
        @ negative
    )
    M = M + sp.csr_matrix((alpha.sum(axis=1), (sample, problem.labels)), shape=(n, K))
    return sp.csr_matrix(M)


def primal_from_dual(problem: MultiLabelProblem, alpha) -> np.ndarray:
    """The weights ``W`` (K, d [+1]) the kernel keeps for given dual variables."""
    M = coefficient_matrix(problem, alpha)
    d = problem.n_features
    W = np.zeros((problem.n_classes, problem.n_columns))
    W[:, :d] = np.asarray((problem.X().T @ M).T.todense())
    if problem.bias != 0.0:
        W[:, d] = np.asarray(M.sum(axis=0)).ravel() * problem.bias
    return W


def _scores(problem: MultiLabelProblem, W, n_threads=1):
    out = np.empty((problem.n_samples, W.shape[0]))
    return sparse_ops.decision_scores(
        *problem.csr_arrays, np.ascontiguousarray(W), problem.bias, out, n_threads
    )


def ranking_losses(S, label_ptr, labels, chunk=4096):
    """Per sample ``sum_{p in Y_i} sum_{c not in Y_i} max(0, 1 - S_ip + S_ic)`` from scores ``S`` (n, K)."""
    n, K = S.shape
    Y = sp.csr_matrix((np.ones(labels.size, dtype=bool), labels, label_ptr), shape=(n, K)).toarray()
    out = np.zeros(n)
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        s, y = S[lo:hi], Y[lo:hi]
        neg = np.where(y, -np.inf, s)  # negatives only
        # Sort the negatives once per sample; for each positive, the hinge sum is
        # (count of c with s_c > s_p - 1) * (1 - s_p) + sum of those s_c.
        order = -np.sort(-neg, axis=1)
        finite = np.where(np.isfinite(order), order, 0.0)
        prefix = np.concatenate([np.zeros((hi - lo, 1)), np.cumsum(finite, axis=1)], axis=1)
        rows, cols = np.nonzero(y)
        sp_ = s[rows, cols]
        desc = order[rows]
        count = np.sum(desc > (sp_ - 1.0)[:, None], axis=1)
        total = (1.0 - sp_) * count + prefix[rows, count]
        np.add.at(out, lo + rows, total)
    return out


def objectives(problem: MultiLabelProblem, W, alpha, n_threads=1):
    """``(primal, dual)``: the ranking-hinge primal of ``W`` and ``sum(alpha) - ||W||^2 / 2``."""
    S = _scores(problem, W, n_threads)
    losses = ranking_losses(S, problem.label_ptr, problem.labels)
    half_norm = 0.5 * float(np.sum(W * W))
    return half_norm + float(problem.upper @ losses), float(alpha.sum()) - half_norm


def zero_outside_dual_support(W, problem: MultiLabelProblem, alpha):
    """Zero the entries of ``W`` that no sample with a non-zero coefficient touches.

    ``w_kj = sum_i M_ik x_ij`` (:func:`coefficient_matrix`): where no sample
    has both ``x_ij != 0`` and ``M_ik != 0`` the entry is 0 in exact
    arithmetic; coordinate ascent leaves ~1e-17 residues there (a sample's
    contribution added, then removed when its variable returns to 0).
    """
    sample = problem.sample_of_row
    n, K, d = problem.n_samples, problem.n_classes, problem.n_features
    rows, cols = np.nonzero(alpha)  # negatives with a non-zero variable
    moved = np.flatnonzero(alpha.any(axis=1))  # positives with a non-zero row
    coefficient_pattern = sp.csr_matrix(
        (
            np.ones(rows.size + moved.size),
            (
                np.concatenate([sample[rows], sample[moved]]),
                np.concatenate([cols, problem.labels[moved]]),
            ),
        ),
        shape=(n, K),
    )
    coefficient_pattern.data[:] = 1.0  # duplicates were summed
    x_pattern = sp.csr_matrix(
        (np.ones(problem.indices.size), problem.indices, problem.indptr), shape=(n, d)
    )
    support = (x_pattern.T @ coefficient_pattern).tocoo()
    keep = np.zeros((K, d), dtype=bool)
    keep[support.col, support.row] = True
    W[:, :d][~keep] = 0.0
    if W.shape[1] > d:
        used = np.asarray(coefficient_pattern.sum(axis=0)).ravel() > 0
        W[~used, d] = 0.0


def _aligned_zeros(shape, alignment=128):
    size = int(np.prod(shape))
    buffer = np.zeros(size + alignment // 8)
    offset = (-buffer.ctypes.data % alignment) // 8
    return buffer[offset : offset + size].reshape(shape)


@dataclass
class MultiLabelResult:
    """Outcome of :func:`solve_multilabel`."""

    W: np.ndarray | None
    alpha: np.ndarray | None
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)
    #: Objectives the solver computed itself (the MPI solver: on every rank); else None.
    primal: float | None = None
    dual: float | None = None
    #: Labels of every MPI rank (the MPI solver only).
    owned: list | None = None


class _Schedule:
    """Class groups, their column layout in ``WT`` and the per-epoch task lists."""

    def __init__(self, problem: MultiLabelProblem, n_groups: int, multiple: int = GROUP_MULTIPLE):
        K = problem.n_classes
        counts = np.bincount(problem.labels, minlength=K)
        self.groups = balanced_groups(counts, n_groups, multiple=multiple)
        G = self.n_groups = len(self.groups)
        self.rounds = ww_rounds(G)
        self.class_group = np.empty(K, dtype=np.int32)
        self.class_pos = np.empty(K, dtype=np.int32)
        for g, members in enumerate(self.groups):
            self.class_group[members] = g
            self.class_pos[members] = np.arange(len(members), dtype=np.int32)
        widths = np.array([len(g) for g in self.groups])
        padded = -(-widths // PAD) * PAD
        self.group_col0 = np.zeros(G, dtype=np.int32)
        self.group_col0[1:] = np.cumsum(padded)[:-1]
        self.ld = int(padded.sum())
        self.class_col = (self.group_col0[self.class_group] + self.class_pos).astype(np.int64)
        self.group_classes = np.ascontiguousarray(np.concatenate(self.groups), dtype=np.int32)
        self.group_class_ptr = np.zeros(G + 1, dtype=np.int32)
        np.cumsum(widths, out=self.group_class_ptr[1:])
        # Samples with a positive label in each group; samples without any
        # variable (no label, or every label) are never visited.
        m = problem.n_labels
        useful = (m > 0) & (m < K)
        sample = problem.sample_of_row
        self.has_positive = np.zeros((G, problem.n_samples), dtype=bool)
        self.has_positive[self.class_group[problem.labels], sample] = True
        self.has_positive &= useful[None, :]
        n_slots = self.rounds.shape[1]
        width = int(widths.max())
        self.scratch = _aligned_zeros((n_slots, -(-4 * width // PAD) * PAD))
        self.scratch_index = np.zeros((n_slots, 2 * width), dtype=np.int32)
        self.scratch_flag = np.zeros((n_slots, 2 * width), dtype=np.uint8)

    def tasks(self, rng, n_samples):
        """``(task_ptr, task_samples)`` of one epoch: every task's samples in one shuffled order."""
        perm = rng.permutation(n_samples)
        lists = []
        for table in self.rounds:
            for a, b in table:
                if a < 0:
                    lists.append(np.empty(0, dtype=np.int64))
                    continue
                mask = (
                    self.has_positive[a] if a == b else self.has_positive[a] | self.has_positive[b]
                )
                lists.append(perm[mask[perm]])
        ptr = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in lists], out=ptr[1:])
        if ptr[-1] > np.iinfo(np.int32).max:  # pragma: no cover
            raise ValueError("too many sample visits per epoch for int32 task lists")
        samples = np.concatenate(lists).astype(np.int32) if lists else np.empty(0, np.int32)
        return ptr.astype(np.int32), np.ascontiguousarray(samples)


def solve_multilabel(
    problem: MultiLabelProblem,
    *,
    tol: float = 0.1,
    max_iter: int = 1000,
    shrinking: bool = True,
    n_threads: int = 1,
    random_state=None,
    verbose: int = 0,
    alpha: np.ndarray | None = None,
    n_groups: int | None = None,
    fixed_epochs: bool = False,
) -> MultiLabelResult:
    """Dual coordinate ascent on the multi-label WW dual until the violation is below ``tol``.

    Same stopping and shrinking rules as :func:`xcsvm.solvers.driver.solve`
    (an epoch's largest projected gradient below ``tol``; with shrinking a
    final epoch over all variables confirms it; every 10th epoch is un-shrunk).
    ``n_groups`` class groups (default: one per thread) play the 1-factorization: a first round optimises the class
    pairs inside each group, the following rounds the pairs between the groups
    matched that round, in parallel.

    Parameters
    ----------
    problem : MultiLabelProblem
        From :func:`prepare_multilabel`.
    tol : float, default=0.1
        Stopping violation (largest projected gradient of an epoch).
    max_iter : int, default=1000
        Maximal number of epochs.
    shrinking : bool, default=True
        Skip variables that did not move in 3 visits.
    n_threads : int, default=1
        OpenMP threads.
    random_state : int, RandomState or None, default=None
        Seed of the per-epoch shuffles.
    verbose : int, default=0
        >= 1: per-epoch table of primal, dual, relative gap, violation, active set.
    alpha : ndarray of shape (P, n_labels), optional
        Feasible initial dual variables (warm start).
    n_groups : int, optional
        Class groups of the schedule (default: one per thread).
    fixed_epochs : bool, default=False
        Run exactly ``max_iter`` epochs (timing protocol).

    Returns
    -------
    MultiLabelResult
        ``W`` (n_labels, n_features [+1]), ``alpha``, ``n_iter``, ``converged``, ``history``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(3)); Y = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    >>> result = solve_multilabel(prepare_multilabel(X, Y, np.ones(3)), tol=1e-8)
    >>> bool(result.converged), result.W.shape
    (True, (3, 3))
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    fresh_alpha, stale = new_dual(problem)
    if alpha is None:
        alpha = fresh_alpha
        W = np.zeros((problem.n_classes, problem.n_columns))
    else:
        alpha = np.ascontiguousarray(alpha, dtype=np.float64)
        if alpha.shape != fresh_alpha.shape:
            raise ValueError(f"initial alpha has shape {alpha.shape}, expected {fresh_alpha.shape}")
        W = primal_from_dual(problem, alpha)
    K = problem.n_classes
    # One group per thread (not two as for multi-class WW): a document with labels in several
    # groups reads the weights of both groups of every task it is in, so the work of an epoch
    # grows with the number of groups (BENCHMARKS.md: 2 threads on 2 groups 6.2-7.1 s per
    # epoch, on 4 groups 8.8-11 s; 1 thread on 1 group 5.1 s).
    groups = n_groups or (1 if n_threads == 1 else min(max(K // GROUP_MULTIPLE, 1), n_threads))
    schedule = _Schedule(problem, groups)
    WT = _aligned_zeros((problem.n_columns, schedule.ld))
    WT[:, schedule.class_col] = W.T
    n_variables = problem.n_variables
    history = []
    converged = False
    shrink_next = shrinking
    show = verbose > 0
    bar = tqdm(total=max_iter, desc="xcsvm WW multi-label", disable=not show, leave=False)
    if show:
        tqdm.write(
            f"{'epoch':>5} {'primal':>14} {'dual':>14} {'rel.gap':>10} {'violation':>10} {'active':>10}"
        )
    n_iter = 0
    try:
        for n_iter in range(1, max_iter + 1):
            shrunk = shrink_next
            start = time.perf_counter()
            task_ptr, task_samples = schedule.tasks(rng, problem.n_samples)
            violation, visited = ml_epoch(
                *problem.csr_arrays,
                problem.sq_norms,
                problem.upper,
                problem.label_ptr,
                problem.labels,
                schedule.class_group,
                schedule.class_pos,
                schedule.group_class_ptr,
                schedule.group_classes,
                schedule.group_col0,
                schedule.rounds,
                task_ptr,
                task_samples,
                alpha,
                stale,
                WT,
                schedule.scratch,
                schedule.scratch_index,
                schedule.scratch_flag,
                problem.bias,
                shrunk,
                n_threads,
            )
            record = {
                "epoch": n_iter,
                "violation": violation,
                "active": visited,
                "shrunk": shrunk,
                "seconds": time.perf_counter() - start,
            }
            if show:
                W = np.ascontiguousarray(WT[:, schedule.class_col].T)
                primal, dual = objectives(problem, W, alpha, n_threads)
                gap = (primal - dual) / max(abs(primal), np.finfo(float).tiny)
                record.update(primal=primal, dual=dual, gap=gap)
                tqdm.write(
                    f"{n_iter:5d} {primal:14.6e} {dual:14.6e} {gap:10.3e} {violation:10.3e} {visited:>10d}"
                )
            history.append(record)
            bar.update(1)
            if fixed_epochs:
                continue
            if violation < tol:
                if not shrunk or visited == n_variables:
                    converged = True
                    break
                shrink_next = False
            else:
                shrink_next = shrinking and n_iter % UNSHRINK_PERIOD != UNSHRINK_PERIOD - 1
    finally:
        bar.close()
    W = np.ascontiguousarray(WT[:, schedule.class_col].T)
    return MultiLabelResult(W=W, alpha=alpha, n_iter=n_iter, converged=converged, history=history)


#: Rows of the training scores the decision rule is fitted on (a seeded subsample).
RULE_ROWS = 4000
#: Candidate cut-offs of the decision rules.
RULE_CANDIDATES = 200


def _example_f1(sorted_scores, cumulative_hits, n_true, cutoffs):
    """Mean example-based F1 when each row predicts its labels scoring ``>= cutoffs[:, j]`` (at least one).

    ``sorted_scores`` are the row's scores in descending order and
    ``cumulative_hits[i, m]`` the number of true labels among its ``m`` best.
    Returns one mean F1 per column of ``cutoffs`` (n, n_candidates).
    """
    n, K = sorted_scores.shape
    out = np.empty(cutoffs.shape[1])
    rows = np.arange(n)
    ascending = -sorted_scores  # ascending order for searchsorted-like counting
    for j in range(cutoffs.shape[1]):
        count = np.maximum(1, np.sum(ascending <= -cutoffs[:, j : j + 1], axis=1))
        hits = cumulative_hits[rows, count]
        denominator = count + n_true
        out[j] = np.mean(np.where(denominator > 0, 2.0 * hits / np.maximum(denominator, 1), 1.0))
    return out


def _refine(candidates, f1_of):
    """Best cut-off: the best quantile candidate, then a uniform grid between its two neighbours."""
    f1 = f1_of(candidates)
    best = int(np.argmax(f1))
    low, high = candidates[max(best - 1, 0)], candidates[min(best + 1, candidates.size - 1)]
    fine = np.linspace(low, high, RULE_CANDIDATES)
    fine_f1 = f1_of(fine)
    if fine_f1.max() > f1[best]:
        return float(fine[int(np.argmax(fine_f1))])
    return float(candidates[best])


def fit_decision_rules(scores, Y, random_state=0) -> dict:
    """Fit the cut-offs of the candidate decision rules on ``(scores, Y)`` by example-based F1.

    Returns ``{"threshold": t, "relative": delta, "top_k": k}``: predict the labels scoring
    ``>= t``; those scoring ``>= top score - delta``; the ``k`` best. Every rule predicts
    at least the top label. Fitted on at most :data:`RULE_ROWS` rows.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_labels)
        Decision scores (of the training data).
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of the true label sets.
    random_state : int, default=0
        Seed of the row subsample.

    Returns
    -------
    dict
        Cut-off of each rule, keyed by its name.
    """
    Y = sp.csr_matrix(Y)
    n, K = scores.shape
    if n > RULE_ROWS:
        rows = np.sort(np.random.RandomState(random_state).choice(n, RULE_ROWS, replace=False))
        scores, Y = scores[rows], Y[rows]
        n = RULE_ROWS
    order = np.argsort(-scores, axis=1, kind="stable")
    sorted_scores = np.take_along_axis(scores, order, axis=1)
    truth = Y.toarray().astype(bool)
    hits = np.take_along_axis(truth, order, axis=1)
    cumulative = np.concatenate([np.zeros((n, 1)), np.cumsum(hits, axis=1)], axis=1)
    n_true = truth.sum(axis=1)
    quantiles = np.linspace(0, 1, RULE_CANDIDATES)
    thresholds = np.unique(np.quantile(sorted_scores[:, : min(K, 20)], quantiles))
    threshold = _refine(
        thresholds,
        lambda t: _example_f1(sorted_scores, cumulative, n_true, np.broadcast_to(t, (n, t.size))),
    )
    gaps = sorted_scores[:, :1] - sorted_scores[:, : min(K, 20)]
    deltas = np.unique(np.quantile(gaps, quantiles))
    relative = _refine(
        deltas,
        lambda t: _example_f1(sorted_scores, cumulative, n_true, sorted_scores[:, :1] - t[None, :]),
    )
    ks = np.arange(1, min(K, 20) + 1)
    counts = ks[None, :].repeat(n, axis=0)
    top_f1 = np.mean(
        2.0 * cumulative[np.arange(n)[:, None], counts] / (counts + n_true[:, None]), axis=0
    )
    return {"threshold": threshold, "relative": relative, "top_k": int(ks[np.argmax(top_f1)])}


def apply_decision_rule(scores, rule: str, value) -> np.ndarray:
    """Boolean indicator of :func:`fit_decision_rules`' rule ``rule`` with cut-off ``value``.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_labels)
        Decision scores.
    rule : {"threshold", "relative", "top_k"}
        The rule.
    value : float or int
        Its cut-off: the threshold, the margin below the top score, or ``k``.

    Returns
    -------
    ndarray of bool, shape (n_samples, n_labels)
        Predicted label sets; every row holds at least its top label.
    """
    n = scores.shape[0]
    top = np.argmax(scores, axis=1)
    if rule == "threshold":
        out = scores >= value
    elif rule == "relative":
        out = scores >= scores[np.arange(n), top][:, None] - value
    elif rule == "top_k":
        from xcsvm.metrics import top_k_labels

        out = np.zeros(scores.shape, dtype=bool)
        out[np.arange(n)[:, None], top_k_labels(scores, min(int(value), scores.shape[1]))] = True
    else:
        raise ValueError(f"unknown decision rule {rule!r}; use 'threshold', 'relative' or 'top_k'")
    out[np.arange(n), top] = True
    return out


def is_multilabel_target(y) -> bool:
    """True when ``y`` is 2-D with more than one column (dense, sparse or a list of lists)."""
    if sp.issparse(y):
        return y.ndim == 2 and y.shape[1] > 1
    if isinstance(y, np.ndarray):
        shape = y.shape
    else:
        try:
            shape = np.asarray(y, dtype=object).shape
        except (ValueError, TypeError):  # ragged lists: not a matrix
            return False
    return len(shape) == 2 and shape[1] > 1


def check_indicator(Y):
    """``Y`` as a CSR 0/1 indicator (n, K), or a ValueError saying what is wrong."""
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(Y)
    values = np.unique(Y.data if sp.issparse(Y) else np.asarray(Y))
    if kind == "multilabel-indicator" and not np.all(np.isin(values, (0, 1))):
        kind = f"two-valued matrix with values {values.tolist()}"
    if kind != "multilabel-indicator":
        raise ValueError(
            f"a 2-D y is read as multi-label targets and must be a 0/1 indicator matrix (n_samples, n_labels); "
            f"got target type {kind!r}. Pass a 1-D y for multi-class, or binarise the label sets with "
            "sklearn.preprocessing.MultiLabelBinarizer"
        )
    return sp.csr_matrix(np.asarray(Y) != 0 if not sp.issparse(Y) else Y, dtype=np.int8)


def fit_multilabel(estimator, X, Y, sample_weight=None, solver=None):
    """The multi-label branch of :meth:`xcsvm.WWClassifier.fit` (sets the fitted attributes).

    ``solver`` (default :func:`solve_multilabel`) is called as ``solver(problem, tol=..., max_iter=...,
    shrinking=..., n_threads=..., random_state=..., verbose=..., alpha=...)`` and returns a
    :class:`MultiLabelResult`; the MPI estimator passes
    :func:`xcsvm.distributed.multilabel.solve_multilabel_distributed`, whose result has ``W``
    and ``alpha`` on rank 0 only (the other ranks keep the training facts, ``coef_`` is None).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.validation import _check_sample_weight, validate_data

    from xcsvm.estimators import _check_float64_range, effective_n_threads

    if estimator.n_jobs is not None and estimator.n_jobs == 0:
        raise ValueError(
            "n_jobs == 0 is not allowed; use None, a positive count or -1 for all cores"
        )
    if estimator.class_weight is not None:
        raise ValueError(
            "class_weight is not defined for multi-label targets (a dual variable couples a positive and a "
            "negative label); use sample_weight, or class_weight=None"
        )
    _check_float64_range(X)
    y_sparse = sp.issparse(Y)
    y_dtype = Y.dtype if y_sparse else np.asarray(Y).dtype
    X, Y = validate_data(
        estimator,
        X,
        Y,
        accept_sparse=["csr", "csc", "coo"],
        dtype=[np.float64, np.float32],
        accept_large_sparse=True,
        multi_output=True,
    )
    Y = check_indicator(Y)
    n, K = Y.shape
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    upper = estimator.C * sample_weight
    if not np.any(upper > 0):
        raise ValueError("all sample weights are zero; at least one sample needs a positive weight")
    bias = float(estimator.intercept_scaling) if estimator.fit_intercept else 0.0
    if not sp.issparse(X) or X.format != "csr":
        X = sp.csr_matrix(X)
    problem = prepare_multilabel(X, Y, upper, bias)
    n_threads = effective_n_threads(estimator.n_jobs, max(K // 2, 1))
    initial = None
    if estimator.warm_start and getattr(estimator, "_ml_alpha", None) is not None:
        previous_labels = estimator._ml_labels
        if (
            previous_labels[0].shape == problem.label_ptr.shape
            and all(
                np.array_equal(a, b)
                for a, b in zip(previous_labels, (problem.label_ptr, problem.labels))
            )
            and estimator._ml_alpha.shape[1] == K
        ):
            initial = np.minimum(estimator._ml_alpha, problem.upper[problem.sample_of_row][:, None])
        else:
            warnings.warn(
                "warm_start ignored: the training set changed size or labels since the last fit",
                UserWarning,
                stacklevel=3,
            )
    solve = solve_multilabel if solver is None else solver
    result = solve(
        problem,
        tol=estimator.tol,
        max_iter=estimator.max_iter,
        shrinking=estimator.shrinking,
        n_threads=n_threads,
        random_state=estimator.random_state,
        verbose=estimator.verbose,
        alpha=initial,
    )
    if not result.converged:
        warnings.warn(
            f"{type(estimator).__name__} (multi-label) did not converge in max_iter={estimator.max_iter} epochs "
            f"(last violation {result.history[-1]['violation']:.3g} > tol={estimator.tol}); increase max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    estimator.multilabel_ = True
    estimator.classes_ = np.arange(K)
    estimator.n_iter_ = result.n_iter
    estimator.history_ = result.history
    if (
        result.W is None or result.alpha is None
    ):  # an MPI rank other than 0: the training facts only
        estimator.coef_ = estimator.intercept_ = estimator.density_ = None
        estimator.primal_objective_, estimator.dual_objective_ = result.primal, result.dual
        if result.primal is not None and result.dual is not None:
            estimator.dual_gap_ = (result.primal - result.dual) / max(
                abs(result.primal), np.finfo(float).tiny
            )
        estimator._y_dtype = y_dtype if y_dtype.kind in "biuf" else np.dtype(np.int64)
        estimator._y_sparse = y_sparse
        return estimator
    W = result.W
    if not np.all(np.isfinite(W)):
        raise ValueError(
            f"{type(estimator).__name__}: the solver produced non-finite weights; scale X "
            "(e.g. divide by its largest absolute value, or use sklearn's MaxAbsScaler)"
        )
    zero_outside_dual_support(W, problem, result.alpha)
    primal, dual = objectives(problem, W, result.alpha, n_threads)
    d = problem.n_features
    estimator.coef_ = np.ascontiguousarray(W[:, :d])
    estimator.intercept_ = W[:, d] * bias if bias else np.zeros(K)
    estimator.primal_objective_ = primal
    estimator.dual_objective_ = dual
    estimator.dual_gap_ = (primal - dual) / max(abs(primal), np.finfo(float).tiny)
    estimator.density_ = float(np.count_nonzero(estimator.coef_)) / max(estimator.coef_.size, 1)
    S = _scores(problem, W, n_threads)
    rules = fit_decision_rules(S, Y)
    estimator.decision_rule_ = (DECISION_RULE, rules[DECISION_RULE])
    estimator.decision_rules_ = rules
    estimator._y_dtype = y_dtype if y_dtype.kind in "biuf" else np.dtype(np.int64)
    estimator._y_sparse = y_sparse
    if estimator.warm_start:
        estimator._ml_alpha = result.alpha
        estimator._ml_labels = (problem.label_ptr.copy(), problem.labels.copy())
    return estimator


def predict_multilabel(estimator, scores):
    """Indicator matrix of the fitted ``decision_rule_`` (see :func:`apply_decision_rule`)."""
    rule, value = estimator.decision_rule_
    predicted = apply_decision_rule(scores, rule, value).astype(
        getattr(estimator, "_y_dtype", np.int64)
    )
    return sp.csr_matrix(predicted) if getattr(estimator, "_y_sparse", False) else predicted
