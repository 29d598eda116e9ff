"""The epoch loop of every solver, on threads and on MPI ranks: shrinking, stopping, reporting.

The C-level kernels (:mod:`~xcsvm.solvers.ww`, :mod:`~xcsvm.solvers.llw`,
:mod:`~xcsvm.solvers.cs`) run the epochs. :func:`run_epochs` is the one loop
that decides when to shrink and un-shrink (Sec. 4.1.1), checks the stopping
criterion and prints the per-epoch table; an *epoch* is a callable handed to
it. :func:`solve` hands it the single-machine epochs (:class:`_Epochs`); the
MPI layer (:mod:`xcsvm.distributed.solver`) hands it an epoch that runs the
rank's sweeps, exchanges the class bundles between them and reduces the
violation over the ranks.

Memory: WW and CS keep their weights only feature-major (``WT``, d x K plus
a little padding, see :func:`_pad_unit`); at the end the columns are put in
class order in place and the class-major result is a transposed *view* of
the same buffer, so a fit holds X, one weight matrix and the dual variables
(BENCHMARKS.md, "Peak memory of fit").
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

__all__ = [
    "SolveResult",
    "solve",
    "run_epochs",
    "primal_from_dual",
    "objectives",
    "relative_gap",
    "LLW_CHUNKS",
]

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
#: Padding of the feature-major weights may add at most this share of K columns
#: (a smaller padding unit is taken otherwise, see ``_pad_unit``).
MAX_PADDING = 0.25


@dataclass
class SolveResult:
    """Outcome of :func:`solve`.

    ``W`` (n_classes, n_columns) is class-major in meaning; for WW and CS it
    is the transposed view of the solver's feature-major buffer (no copy).
    """

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


def _pad_unit(widths) -> int:
    """Columns to which each group of the feature-major weights is padded.

    ``PAD`` (128 bytes: the threads of a round never share a pair of cache
    lines) unless that adds more than ``MAX_PADDING * K`` columns; then the
    largest power of two that does not. With K = 5 classes in 4 groups, 16
    would make the weights 12.8x as large as W (d = 10^7: 5 GB instead of
    400 MB); a little false sharing between threads costs time, not memory.

    Examples
    --------
    >>> _pad_unit([48, 48, 48, 56]), _pad_unit([2, 1, 1, 1]), _pad_unit([6, 6, 6, 5])
    (16, 1, 2)
    """
    widths = np.asarray(widths)
    budget = widths.sum() * (1 + MAX_PADDING)
    for unit in (PAD, 8, 4, 2):
        if (-(-widths // unit) * unit).sum() <= budget:
            return unit
    return 1


def compact_feature_major(WT: np.ndarray, class_col: np.ndarray) -> np.ndarray:
    """The class-major view ``W`` (K, rows of ``WT``) of feature-major weights, made in place.

    Moves column ``class_col[c]`` of every row of ``WT`` to column ``c`` of a
    dense ``(rows, K)`` matrix laid over the start of the same buffer, a block
    of rows at a time (the destination of a block ends before the next
    block's source starts, since ``K <= ld``), and returns its transpose.
    ``WT`` must be C-contiguous and is destroyed. Extra memory: one block.

    Examples
    --------
    >>> WT = np.array([[1.0, 9, 2], [3, 9, 4]])
    >>> compact_feature_major(WT, np.array([2, 0])).tolist()
    [[2.0, 4.0], [1.0, 3.0]]
    """
    n_rows, ld = WT.shape
    K = class_col.shape[0]
    flat = WT.reshape(-1)  # a view: WT is C-contiguous
    if not np.array_equal(class_col, np.arange(K)) or ld != K:
        block = max(1, (1 << 20) // max(ld, 1))
        for start in range(0, n_rows, block):
            stop = min(start + block, n_rows)
            rows = flat[start * ld : stop * ld].reshape(stop - start, ld)[:, class_col]  # a copy
            flat[start * K : stop * K] = rows.reshape(-1)
    return flat[: n_rows * K].reshape(n_rows, K).T


def all_finite(A: np.ndarray, block: int = 1 << 20) -> bool:
    """``np.isfinite(A).all()`` for a 2-D ``A``, about ``block`` entries at a time (no full-size temporary)."""
    B = A.T if A.T.flags.c_contiguous and not A.flags.c_contiguous else A
    rows = max(1, block // max(B.shape[1], 1))
    return all(bool(np.isfinite(B[s : s + rows]).all()) for s in range(0, B.shape[0], rows))


class _Epochs:
    """One callable per formulation: ``epoch(shrink) -> (violation, n_visited)``."""

    def __init__(
        self, formulation, problem, alpha, stale, W, n_threads, rng, margin, ww_groups=None
    ):
        """``W``: initial class-major weights (warm start), or None for zeros.

        LLW keeps ``W`` itself (class-major, a new zero matrix when None); WW
        and CS keep only the feature-major ``WT``.
        """
        self.formulation = formulation
        self.problem = problem
        self.alpha, self.stale = alpha, stale
        if W is None and formulation == "llw":
            W = np.zeros((problem.n_classes, problem.n_columns))
        self.W = W
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
            self.blocks = [
                tuple(sorted(block, key=lambda g: len(self.groups[g]) % PAD != 0))
                for block in self.blocks
            ]
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
        if formulation != "llw":
            self.W = None  # WW and CS hold only WT

    def _init_feature_major(self, W, layout):
        """WW and CS keep their weights feature-major (``ww.ww_epoch_t``, ``cs.cs_epoch``): ``WT[j, class_col[c]] = W[c, j]``.

        Each group's classes get contiguous columns starting on a 128-byte
        boundary (groups padded to ``PAD`` = 16 columns, laid out in the order
        ``layout``), so the threads of a round never share a pair of cache
        lines (the unit the adjacent-line prefetcher fetches: with 64-byte
        padding the two-thread epoch time varied from 0.15 to 0.22 s on the
        benchmark, with 128 bytes it stays at 0.16 s). With few classes a
        smaller unit keeps the padding under ``MAX_PADDING`` (:func:`_pad_unit`).
        """
        self.group_width = np.array([len(g) for g in self.groups])
        self.pad = _pad_unit(self.group_width) if self.n_groups > 1 else 1
        self.group_padded = -(-self.group_width // self.pad) * self.pad
        self.group_col0 = np.zeros(self.n_groups, dtype=np.int32)
        self.group_col0[layout] = np.concatenate([[0], np.cumsum(self.group_padded[layout])[:-1]])
        self.class_col = np.empty(self.problem.n_classes, dtype=np.int32)
        for g, members in enumerate(self.groups):
            self.class_col[members] = self.group_col0[g] + np.arange(len(members))
        self.WT = _aligned_zeros((self.problem.n_columns, int(self.group_padded.sum())))
        if W is not None:
            ww.to_feature_major(np.ascontiguousarray(W), self.class_col, self.WT, self.n_threads)

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
        self.scratch_index = _aligned_zeros(
            (n_slots, -(-width // (2 * PAD)) * 2 * PAD), dtype=np.int32
        )

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

    def class_major(self) -> np.ndarray:
        """A class-major copy (K, n_columns) of the current weights (tests, verbose table)."""
        if self.formulation == "llw":
            return self.W.copy()
        W = np.empty((self.problem.n_classes, self.problem.n_columns))
        ww.to_class_major(self.WT, self.class_col, W, self.n_threads)
        return W

    def finish(self) -> np.ndarray:
        """The final class-major weights: LLW re-centred, WW/CS compacted in place (no copy)."""
        if self.formulation == "llw":
            self.recenter()
            return self.W
        W = compact_feature_major(self.WT, self.class_col)
        self.WT = None  # its buffer now holds W
        return W

    def __call__(self, shrink):
        p = self.problem
        if self.formulation == "ww":
            order, ptr = self.block_order(self.rng)
            return ww.ww_epoch_t(
                *p.csr_arrays,
                p.sq_norms,
                p.upper,
                p.y,
                ptr,
                order,
                self.block_class_ptr,
                self.block_classes,
                self.block_col0,
                self.class_col,
                self.rounds,
                self.alpha,
                self.stale,
                self.WT,
                self.scratch,
                self.scratch_index,
                p.bias,
                shrink,
                self.n_threads,
            )
        order = self.rng.permutation(p.n_samples).astype(np.int32)
        if self.formulation == "cs":
            return cs.cs_epoch(
                *p.csr_arrays,
                p.sq_norms,
                p.upper,
                p.y,
                order,
                self.alpha,
                self.stale,
                self.WT,
                self.workspace,
                self.active,
                p.bias,
                shrink,
            )
        violation, visited = 0.0, 0
        rows = self.class_row
        total = np.empty(self.W.shape[1])
        # Algorithm 1: per tenth of the epoch, the classes given wbar, then wbar.
        for chunk in np.array_split(order, LLW_CHUNKS):
            v, m = llw.llw_pass(
                *p.csr_arrays,
                p.sq_norms,
                p.upper,
                p.y,
                np.ascontiguousarray(chunk),
                rows,
                rows,
                self.alpha,
                self.stale,
                self.W,
                p.bias,
                self.margin,
                shrink,
                self.n_threads,
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


def run_epochs(
    epoch,
    *,
    tol: float,
    max_iter: int,
    shrinking: bool,
    n_variables: int,
    fixed_epochs: bool = False,
    objectives=None,
    show: bool = False,
    label: str = "xcsvm",
    evaluate: bool | None = None,
):
    """The epoch loop: shrink, un-shrink and stop (Sec. 4.1.1); one for threads and MPI ranks.

    Parameters
    ----------
    epoch : callable
        ``epoch(shrink) -> (violation, n_visited)``: one pass over the dual
        variables (skipping shrunk ones when ``shrink``), returning the
        largest projected-gradient violation and the number of variables
        visited. Under MPI the callable runs the rank's sweeps, exchanges the
        class bundles and reduces both numbers over all ranks, so every rank
        takes the same decisions here.
    tol : float
        Stop when an epoch over *all* variables has a violation below
        ``tol``; after a shrunk epoch below ``tol``, one un-shrunk epoch
        confirms it (unless the shrunk epoch visited every variable).
    max_iter : int
        Maximal number of epochs.
    shrinking : bool
        Let the epochs skip shrunk variables; every ``UNSHRINK_PERIOD``-th
        epoch visits all of them anyway.
    n_variables : int
        Number of dual variables an un-shrunk epoch visits.
    fixed_epochs : bool
        Run exactly ``max_iter`` epochs (the speed-up protocol of Fig. III.2).
    objectives : callable, optional
        ``objectives() -> (primal, dual)``, evaluated after every epoch when
        ``show`` (the per-epoch table).
    show : bool
        Print the per-epoch table and a progress bar.
    label : str
        Title of the progress bar.
    evaluate : bool, optional
        Call ``objectives`` after every epoch (default: ``show``). MPI ranks
        all evaluate (the objectives are collective) while only rank 0 shows.

    Returns
    -------
    n_iter : int
    converged : bool
    history : list of dict
        Per epoch: violation, active variables, whether shrunk, seconds (and
        primal, dual, gap with ``objectives`` and ``show``).

    Examples
    --------
    >>> violations = iter([1.0, 0.05, 0.01])
    >>> run_epochs(lambda shrink: (next(violations), 10), tol=0.1, max_iter=5, shrinking=True,
    ...            n_variables=20)[:2]
    (3, True)
    """
    history = []
    converged = False
    shrink_next = shrinking
    evaluate = show if evaluate is None else evaluate
    bar = tqdm(total=max_iter, desc=label, disable=not show, leave=False)
    if show:
        tqdm.write(
            f"{'epoch':>5} {'primal':>14} {'dual':>14} {'rel.gap':>10} {'violation':>10} {'active':>10}"
        )
    n_iter = 0
    try:
        for n_iter in range(1, max_iter + 1):
            shrunk = shrink_next
            start = time.perf_counter()
            violation, visited = epoch(shrunk)
            record = {
                "epoch": n_iter,
                "violation": violation,
                "active": visited,
                "shrunk": shrunk,
                "seconds": time.perf_counter() - start,
            }
            if evaluate and objectives is not None:
                primal, dual = objectives()
                record.update(primal=primal, dual=dual, gap=relative_gap(primal, dual))
            if show and "primal" in record:
                tqdm.write(
                    f"{n_iter:5d} {record['primal']:14.6e} {record['dual']:14.6e} {record['gap']:10.3e} "
                    f"{violation:10.3e} {visited:>10d}"
                )
            history.append(record)
            bar.update(1)
            bar.set_postfix(violation=f"{violation:.3g}", refresh=False)
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
    return n_iter, converged, history


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
    W = None
    if alpha is None:
        alpha = fresh_alpha
    else:
        alpha = np.ascontiguousarray(alpha, dtype=np.float64)
        if alpha.shape != fresh_alpha.shape:
            raise ValueError(f"initial alpha has shape {alpha.shape}, expected {fresh_alpha.shape}")
        W = primal_from_dual(formulation, problem, alpha)
    del fresh_alpha
    if ww_groups is not None and (formulation != "ww" or int(ww_groups) < 1):
        raise ValueError(
            f"ww_groups must be a positive int and only applies to 'ww', got {ww_groups!r}"
        )
    epochs = _Epochs(formulation, problem, alpha, stale, W, n_threads, rng, margin, ww_groups)
    del W
    n_variables = problem.n_samples * (problem.n_classes - 1)
    if formulation == "cs":  # cs_epoch counts y_i among a block's active variables
        n_variables = problem.n_samples * problem.n_classes

    def current_objectives():
        return objectives(
            formulation, problem, epochs.class_major(), alpha, margin, n_threads, centred=False
        )

    n_iter, converged, history = run_epochs(
        epochs,
        tol=tol,
        max_iter=max_iter,
        shrinking=shrinking,
        n_variables=n_variables,
        fixed_epochs=fixed_epochs,
        objectives=current_objectives,
        show=verbose > 0,
        label=f"xcsvm {formulation.upper()}",
    )
    return SolveResult(
        W=epochs.finish(), alpha=alpha, n_iter=n_iter, converged=converged, history=history
    )


def objectives(
    formulation: str,
    problem: Problem,
    W: np.ndarray,
    alpha: np.ndarray,
    margin: float = 1.0,
    n_threads: int = 1,
    centred: bool = True,
) -> tuple[float, float]:
    """``(primal, dual)`` of ``W`` (LLW: evaluated at the centred W; ``centred=False`` centres a copy)."""
    if formulation == "llw" and not centred:
        W = W - W.mean(axis=0)
    primal = primal_objective(formulation, problem, W, margin, n_threads)
    dual = dual_objective(formulation, problem, W, alpha.sum(), margin)
    return primal, dual


def relative_gap(primal: float, dual: float) -> float:
    """``(primal - dual) / |primal|``: an upper bound on the relative suboptimality."""
    return (primal - dual) / max(abs(primal), np.finfo(float).tiny)
