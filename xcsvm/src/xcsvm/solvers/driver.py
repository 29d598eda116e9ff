"""Epoch loop shared by the three formulations: shuffling, shrinking, stopping, reporting.

The C-level kernels (:mod:`~xcsvm.solvers.ww`, :mod:`~xcsvm.solvers.llw`,
:mod:`~xcsvm.solvers.cs`) run the epochs; this module decides what an epoch
is, shrinks and un-shrinks (Sec. 4.1.1), checks the stopping criterion and
prints the per-epoch table.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from xcsvm.solvers import cs, llw, ww
from xcsvm.solvers.problem import Problem, dual_objective, primal_objective
from xcsvm.solvers.schedule import balanced_groups, ww_schedule

__all__ = ["SolveResult", "solve", "primal_from_dual", "LLW_CHUNKS"]

#: LLW re-centres wbar after every tenth of an epoch (Sec. 4.1.1).
LLW_CHUNKS = 10
#: With shrinking, every this many epochs one epoch visits all variables, so
#: that a variable dropped too early is seen again even while the violation
#: of the active set stays above ``tol`` (keeps the order essentially cyclic).
UNSHRINK_PERIOD = 10
#: WW class groups have multiples of this many classes (a cache line of weights).
GROUP_MULTIPLE = 8
#: float64 entries in 128 bytes (a pair of cache lines): the unit in which groups
#: and per-task work space are padded and aligned.
PAD = 16


@dataclass
class SolveResult:
    """Outcome of :func:`solve`."""

    W: np.ndarray
    alpha: np.ndarray
    n_iter: int
    converged: bool
    history: list = field(default_factory=list)


def new_dual(formulation: str, problem: Problem):
    """Zero dual variables and shrinking counters in the kernels' layout."""
    n, K = problem.n_samples, problem.n_classes
    if formulation == "llw":
        return np.zeros((K, n)), np.zeros((K, n), dtype=np.uint8)
    return np.zeros((n, K)), np.zeros((n, K), dtype=np.uint8)  # WW and CS


def primal_from_dual(formulation: str, problem: Problem, alpha: np.ndarray) -> np.ndarray:
    """The weights the kernels keep for given dual variables (W = -X alpha_c, +wbar for LLW)."""
    n, K, d = problem.n_samples, problem.n_classes, problem.n_features
    X = sp.csr_matrix((problem.data, problem.indices, problem.indptr), shape=(n, d))
    if formulation == "llw":
        coef = -np.asarray((X.T @ alpha.T).T)
        column = -alpha.sum(axis=1) * problem.bias
    else:
        M = -alpha.copy()
        M[np.arange(n), problem.y] = alpha.sum(axis=1)
        coef = np.asarray((X.T @ M).T)
        column = M.sum(axis=0) * problem.bias
    W = np.zeros((K, problem.n_columns))
    W[:, :d] = coef
    if problem.bias != 0.0:
        W[:, d] = column
    if formulation == "llw":
        W -= W.mean(axis=0)
    return W


def _aligned_zeros(shape, alignment=128, dtype=np.float64):
    """A C-contiguous zero array whose data starts on an ``alignment``-byte boundary."""
    itemsize = np.dtype(dtype).itemsize
    size = int(np.prod(shape))
    buffer = np.zeros(size + alignment // itemsize, dtype=dtype)
    offset = (-buffer.ctypes.data % alignment) // itemsize
    return buffer[offset : offset + size].reshape(shape)


class _Epochs:
    """One callable per formulation: ``epoch(shrink) -> (violation, n_visited)``."""

    def __init__(self, formulation, problem, alpha, stale, W, n_threads, rng, margin, ww_groups=None):
        self.formulation = formulation
        self.problem = problem
        self.alpha, self.stale, self.W = alpha, stale, W
        self.n_threads = n_threads
        self.rng = rng
        self.margin = margin
        K = problem.n_classes
        self.class_row = np.arange(K, dtype=np.int32)
        if formulation == "ww":
            # With one thread a single group: plain sequential DCA. Otherwise
            # 2 groups per thread so a round has one pair per thread; the
            # pairs of the first match day are fused with the self round
            # (schedule.ww_schedule).
            n_groups = ww_groups or (1 if n_threads == 1 else min(K, 2 * n_threads))
            # Group widths in whole cache lines (multiples of 8 classes).
            counts = np.bincount(problem.y, minlength=K)
            self.groups = balanced_groups(counts, n_groups, multiple=GROUP_MULTIPLE)
            self.n_groups = len(self.groups)
            self.group_of_class = np.empty(K, dtype=np.int32)
            for g, members in enumerate(self.groups):
                self.group_of_class[members] = g
            self.blocks, self.rounds = ww_schedule(self.n_groups)
            # In a fused block a group whose width fills 128-byte units goes first:
            # no padding columns inside the block then.
            self.blocks = [tuple(sorted(block, key=lambda g: len(self.groups[g]) % PAD != 0))
                           for block in self.blocks]
            self.fused_of_group = np.full(self.n_groups, -1, dtype=np.int32)
            for f, block in enumerate(self.blocks[self.n_groups :]):
                self.fused_of_group[list(block)] = f
            fused = [g for block in self.blocks[self.n_groups :] for g in block]
            self._init_feature_major(W, fused + [g for g in range(self.n_groups) if g not in fused])
            self._init_blocks()
        elif formulation == "cs":
            self.workspace = np.zeros((6, K))
            self.active = np.zeros(K, dtype=np.int32)
            self.groups = [np.arange(K, dtype=np.int32)]
            self.n_groups = 1
            self._init_feature_major(W, [0])

    def _init_feature_major(self, W, layout):
        """WW and CS keep their weights feature-major (``ww.ww_epoch_t``, ``cs.cs_epoch``): ``WT[j, class_col[c]] = W[c, j]``.

        Each group's classes get contiguous columns starting on a 128-byte
        boundary (groups padded to ``PAD`` = 16 columns, laid out in the order
        ``layout``), so the threads of a round never share a pair of cache
        lines (the unit the adjacent-line prefetcher fetches: with 64-byte
        padding the two-thread epoch time varied from 0.15 to 0.22 s on the
        benchmark, with 128 bytes it stays at 0.16 s).
        """
        self.group_width = np.array([len(g) for g in self.groups])
        self.group_padded = -(-self.group_width // PAD) * PAD
        self.group_col0 = np.zeros(self.n_groups, dtype=np.int32)
        self.group_col0[layout] = np.concatenate([[0], np.cumsum(self.group_padded[layout])[:-1]])
        self.class_col = np.empty(self.problem.n_classes, dtype=np.int32)
        for g, members in enumerate(self.groups):
            self.class_col[members] = self.group_col0[g] + np.arange(len(members))
        self.WT = _aligned_zeros((W.shape[1], int(self.group_padded.sum())))
        ww.to_feature_major(W, self.class_col, self.WT, self.n_threads)

    def _init_blocks(self):
        """The kernel's view of the WW blocks: target classes, first column, work space.

        A fused block ``(a, b)`` spans the columns of ``a``, its padding and
        the columns of ``b`` (adjacent in the layout); its target list has
        ``-1`` at the padding columns, which the kernels skip.
        """
        targets, col0 = [], []
        for block in self.blocks:
            parts = []
            for g in block[:-1]:
                parts += [self.groups[g], np.full(self.group_padded[g] - self.group_width[g], -1)]
            parts.append(self.groups[block[-1]])
            targets.append(np.concatenate(parts).astype(np.int32))
            col0.append(self.group_col0[block[0]])
        self.block_classes = np.ascontiguousarray(np.concatenate(targets), dtype=np.int32)
        self.block_class_ptr = np.zeros(len(self.blocks) + 1, dtype=np.int32)
        np.cumsum([len(t) for t in targets], out=self.block_class_ptr[1:])
        self.block_col0 = np.array(col0, dtype=np.int32)
        # Per-task work space, one 128-byte aligned row per task: the tasks of a
        # round run on different threads and write their rows for every sample.
        n_slots = self.rounds.shape[1]
        width = int(np.diff(self.block_class_ptr).max())
        self.scratch = _aligned_zeros((n_slots, -(-2 * width // PAD) * PAD))
        self.scratch_index = _aligned_zeros((n_slots, -(-width // (2 * PAD)) * 2 * PAD), dtype=np.int32)

    def block_order(self, rng):
        """Visiting order of one WW epoch: every block's samples, shuffled (CSR-like ``order, ptr``).

        One permutation of all samples, restricted to each block: the samples
        of the single groups first, then those of the fused blocks.
        """
        y = self.problem.y
        perm = rng.permutation(y.shape[0]).astype(np.int32)
        group = self.group_of_class[y[perm]]
        parts = [perm[np.argsort(group, kind="stable")]]
        counts = [np.bincount(group, minlength=self.n_groups)]
        n_fused = len(self.blocks) - self.n_groups
        if n_fused:
            fused = self.fused_of_group[group]
            keep = fused >= 0
            parts.append(perm[keep][np.argsort(fused[keep], kind="stable")])
            counts.append(np.bincount(fused[keep], minlength=n_fused))
        ptr = np.zeros(len(self.blocks) + 1, dtype=np.int32)
        np.cumsum(np.concatenate(counts), out=ptr[1:])
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.int32), ptr

    def sync(self):
        """Bring ``W`` (class-major, the layout of the result) up to date with the kernels' weights."""
        if self.formulation in ("ww", "cs"):
            ww.to_class_major(self.WT, self.class_col, self.W, self.n_threads)

    def __call__(self, shrink):
        p = self.problem
        if self.formulation == "ww":
            order, ptr = self.block_order(self.rng)
            return ww.ww_epoch_t(
                *p.csr_arrays, p.sq_norms, p.upper, p.y, ptr, order, self.block_class_ptr,
                self.block_classes, self.block_col0, self.class_col, self.rounds, self.alpha,
                self.stale, self.WT, self.scratch, self.scratch_index, p.bias, shrink,
                self.n_threads,
            )
        order = self.rng.permutation(p.n_samples).astype(np.int32)
        if self.formulation == "cs":
            return cs.cs_epoch(
                *p.csr_arrays, p.sq_norms, p.upper, p.y, order, self.alpha, self.stale,
                self.WT, self.workspace, self.active, p.bias, shrink,
            )
        violation, visited = 0.0, 0
        rows = self.class_row
        total = np.empty(self.W.shape[1])
        for chunk in np.array_split(order, LLW_CHUNKS):
            v, m = llw.llw_pass(
                *p.csr_arrays, p.sq_norms, p.upper, p.y, np.ascontiguousarray(chunk), rows, rows,
                self.alpha, self.stale, self.W, p.bias, self.margin, shrink, self.n_threads,
            )
            violation, visited = max(violation, v), visited + m
            self.recenter(total)
        return violation, visited

    def recenter(self, buffer=None):
        """wbar update of Algorithm 1, lines 12-13."""
        buffer = np.empty(self.W.shape[1]) if buffer is None else buffer
        llw.weight_sum(self.W, self.class_row, buffer, self.n_threads)
        buffer /= self.problem.n_classes
        llw.subtract_from_rows(self.W, self.class_row, buffer, self.n_threads)


def solve(
    formulation: str,
    problem: Problem,
    *,
    tol: float = 0.1,
    max_iter: int = 1000,
    shrinking: bool = True,
    n_threads: int = 1,
    random_state=None,
    verbose: int = 0,
    margin: float = 1.0,
    alpha: np.ndarray | None = None,
    fixed_epochs: bool = False,
    ww_groups: int | None = None,
) -> SolveResult:
    """Dual coordinate ascent for one formulation until the violation is below ``tol``.

    Parameters
    ----------
    formulation : {"ww", "llw", "cs"}
    problem : Problem
    tol : float
        Stop when the largest projected-gradient violation of an epoch over
        *all* variables is below ``tol`` (with shrinking, a final un-shrunk
        epoch confirms it, Sec. 4.1.1).
    max_iter : int
        Maximal number of epochs.
    shrinking : bool
        Skip variables that did not move for 3 epochs.
    n_threads : int
        OpenMP threads of the kernels.
    random_state : int, RandomState or None
        Seed of the per-epoch shuffles.
    verbose : int
        0: silent; >= 1: per-epoch table (primal, dual, gap, violation,
        active set) and a progress bar.
    margin : float
        LLW's margin (1 for Eq. III.2, ``1/(K-1)`` for the original).
    alpha : ndarray, optional
        Initial dual variables (warm start); must be feasible.
    fixed_epochs : bool
        Run exactly ``max_iter`` epochs (the speed-up protocol of Fig. III.2).
    ww_groups : int, optional
        WW only: number of class groups of the schedule (default: 1 with one
        thread, ``2 * n_threads`` otherwise). Fewer, wider groups are faster per
        thread (a sample's scores against a group are one contiguous pass), so
        the benchmarks use it to time one thread on the schedule of two.

    Returns
    -------
    SolveResult

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from xcsvm.solvers.problem import prepare_problem
    >>> X = sp.csr_matrix(np.eye(3)); y = np.array([0, 1, 2])
    >>> result = solve("ww", prepare_problem(X, y, 3, np.ones(3)), tol=1e-8)
    >>> bool(result.converged), (result.W.argmax(axis=0) == y).all()
    (True, np.True_)
    """
    from sklearn.utils import check_random_state

    if formulation not in ("ww", "llw", "cs"):
        raise ValueError(f"unknown formulation {formulation!r}; use 'ww', 'llw' or 'cs'")
    rng = check_random_state(random_state)
    fresh_alpha, stale = new_dual(formulation, problem)
    if alpha is None:
        alpha = fresh_alpha
        W = np.zeros((problem.n_classes, problem.n_columns))
    else:
        alpha = np.ascontiguousarray(alpha, dtype=np.float64)
        if alpha.shape != fresh_alpha.shape:
            raise ValueError(f"initial alpha has shape {alpha.shape}, expected {fresh_alpha.shape}")
        W = primal_from_dual(formulation, problem, alpha)
    if ww_groups is not None and (formulation != "ww" or int(ww_groups) < 1):
        raise ValueError(f"ww_groups must be a positive int and only applies to 'ww', got {ww_groups!r}")
    epochs = _Epochs(formulation, problem, alpha, stale, W, n_threads, rng, margin, ww_groups)
    n_variables = problem.n_samples * (problem.n_classes - 1)
    if formulation == "cs":  # cs_epoch counts y_i among a block's active variables
        n_variables = problem.n_samples * problem.n_classes
    history = []
    converged = False
    shrink_next = shrinking
    show = verbose > 0
    bar = tqdm(total=max_iter, desc=f"xcsvm {formulation.upper()}", disable=not show, leave=False)
    if show:
        tqdm.write(f"{'epoch':>5} {'primal':>14} {'dual':>14} {'rel.gap':>10} {'violation':>10} {'active':>10}")
    n_iter = 0
    try:
        for n_iter in range(1, max_iter + 1):
            shrunk = shrink_next
            start = time.perf_counter()
            violation, visited = epochs(shrunk)
            record = {"epoch": n_iter, "violation": violation, "active": visited, "shrunk": shrunk,
                      "seconds": time.perf_counter() - start}
            if show:
                epochs.sync()
                primal, dual = objectives(formulation, problem, W, alpha, margin, n_threads)
                record.update(primal=primal, dual=dual, gap=relative_gap(primal, dual))
                tqdm.write(
                    f"{n_iter:5d} {primal:14.6e} {dual:14.6e} {record['gap']:10.3e} "
                    f"{violation:10.3e} {visited:>10d}"
                )
            history.append(record)
            bar.update(1)
            if fixed_epochs:
                continue
            if violation < tol:
                if not shrunk or visited == n_variables:
                    converged = True
                    break
                shrink_next = False  # confirm on all variables (Sec. 4.1.1)
            else:
                shrink_next = shrinking and n_iter % UNSHRINK_PERIOD != UNSHRINK_PERIOD - 1
    finally:
        bar.close()
    if formulation == "llw":
        epochs.recenter()
    epochs.sync()
    return SolveResult(W=W, alpha=alpha, n_iter=n_iter, converged=converged, history=history)


def objectives(formulation, problem, W, alpha, margin=1.0, n_threads=1):
    """``(primal, dual)`` of the current iterate (LLW: evaluated at the centred W)."""
    if formulation == "llw":
        W = W - W.mean(axis=0)
    primal = primal_objective(formulation, problem, W, margin, n_threads)
    dual = dual_objective(formulation, problem, W, alpha.sum(), margin)
    return primal, dual


def relative_gap(primal: float, dual: float) -> float:
    """``(primal - dual) / |primal|``: an upper bound on the relative suboptimality."""
    return (primal - dual) / max(abs(primal), np.finfo(float).tiny)
