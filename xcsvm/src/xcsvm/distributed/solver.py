"""The Python entry of distributed training: :func:`fit_distributed`."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .data import prepare_problem
from .exchange import CountingComm
from .llw import llw_epoch, llw_objectives
from .schedule import partition_classes
from .ww import plan_ww, ww_epoch, ww_objectives

__all__ = ["DistributedFit", "fit_distributed"]

FORMULATIONS = ("ww", "llw")


@dataclass
class DistributedFit:
    """What :func:`fit_distributed` returns on every rank.

    Attributes
    ----------
    coef : scipy.sparse.csr_matrix or None
        ``(n_classes, n_features)`` weights, gathered on rank 0 only (None elsewhere).
    intercept : numpy.ndarray or None
        ``(n_classes,)`` intercepts on rank 0 when ``fit_intercept`` (else zeros).
    classes : numpy.ndarray
        Sorted labels.
    formulation : str
    n_iter : int
        Epochs run.
    converged : bool
        Whether the violation fell below ``tol``.
    primal, dual : float
        Final objectives; ``dual_gap = (primal - dual) / |primal|``.
    violation : float
        Largest projected-gradient violation of the last epoch.
    owned : list of numpy.ndarray
        Classes of every rank.
    bytes_per_epoch : dict
        Bytes this rank sent per epoch, by message kind (mean over epochs).
    bytes_sent : dict
        All bytes this rank sent, by kind (including data and gathering).
    epoch_seconds : list of float
        Wall time of every epoch on this rank.
    history : list of dict
        Per epoch: violation (and objectives when ``verbose``).
    """

    coef: sp.csr_matrix | None
    intercept: np.ndarray | None
    classes: np.ndarray
    formulation: str
    n_iter: int
    converged: bool
    primal: float
    dual: float
    violation: float
    owned: list
    bytes_per_epoch: dict
    bytes_sent: dict
    epoch_seconds: list = field(default_factory=list)
    history: list = field(default_factory=list)

    @property
    def dual_gap(self) -> float:
        """Relative duality gap ``(primal - dual) / |primal|`` (an exact certificate)."""
        return (self.primal - self.dual) / max(abs(self.primal), 1e-300)


def _kernels():
    """The WW sweep (:mod:`._sweeps`) and a factory of the LLW sweep.

    LLW runs the single-machine kernel (:class:`~xcsvm.distributed.llw.SolverKernelLLW`);
    WW runs :func:`xcsvm.distributed._sweeps.ww_pairs`, because the
    single-machine WW kernel keeps ``alpha`` as a dense (n, C) matrix on
    every rank, while here each rank holds only its pairs' dual blocks.
    """
    from . import _sweeps
    from .llw import SolverKernelLLW

    return _sweeps.ww_pairs, SolverKernelLLW


def _class_positions(problem, rng) -> np.ndarray:
    # A random visiting order inside each class: positions[class_ptr[c] + t]
    # is the offset (within class c's block) of the t-th sample visited.
    counts = problem.class_counts
    keys = rng.random(problem.n_samples) + np.repeat(np.arange(counts.size), counts)
    order = np.argsort(keys, kind="stable")
    return (order - np.repeat(problem.class_ptr[:-1], counts)).astype(np.int64)


def _gather_rows(comm: CountingComm, rows: np.ndarray, owned, n_classes: int, root: int = 0):
    """Sparse gather of every rank's weight rows into a CSR matrix on ``root``."""
    block = sp.csr_matrix(rows)
    sizes = np.array([block.nnz], dtype=np.int64)
    all_sizes = np.empty(comm.size, dtype=np.int64)
    comm.comm.Allgather(sizes, all_sizes)
    counts_rows = [len(o) + 1 for o in owned]
    indptr_all = np.empty(sum(counts_rows), dtype=np.int64) if comm.rank == root else None
    indices_all = np.empty(int(all_sizes.sum()), dtype=np.int64) if comm.rank == root else None
    data_all = np.empty(int(all_sizes.sum())) if comm.rank == root else None
    sends = (block.indptr.astype(np.int64), block.indices.astype(np.int64), block.data)
    receives = (indptr_all, indices_all, data_all)
    counts_list = (counts_rows, all_sizes.tolist(), all_sizes.tolist())
    for send, receive, counts in zip(sends, receives, counts_list):
        comm.comm.Gatherv(send, [receive, counts] if comm.rank == root else None, root=root)
        comm.bytes_sent["gather"] += send.nbytes
    if comm.rank != root:
        return None
    n_features = rows.shape[1]
    row_offset = value_offset = 0
    pieces = []
    for r, classes in enumerate(owned):
        indptr = indptr_all[row_offset: row_offset + len(classes) + 1]
        part = sp.csr_matrix((data_all[value_offset: value_offset + all_sizes[r]],
                              indices_all[value_offset: value_offset + all_sizes[r]], indptr),
                             shape=(len(classes), n_features))
        pieces.append((classes, part))
        row_offset += len(classes) + 1
        value_offset += int(all_sizes[r])
    order = np.concatenate([classes for classes, _ in pieces])
    stacked = sp.vstack([part for _, part in pieces], format="csr")
    coef = stacked[np.argsort(order)]
    coef.sort_indices()
    return coef


def _check_same_data(problem, comm):
    from .data import digest_arrays

    mine = np.frombuffer(digest_arrays(
        problem.data, problem.indices, problem.indptr, problem.labels, problem.upper,
        problem.classes.astype(str), np.array([problem.n_features])), dtype=np.uint8)
    everyone = np.empty((comm.size, mine.size), dtype=np.uint8)
    comm.comm.Allgather(mine, everyone)
    comm.bytes_sent["data"] += mine.nbytes
    different = [r for r in range(comm.size) if not np.array_equal(everyone[r], everyone[0])]
    if different:
        raise ValueError(
            f"rank(s) {different} were given other training data than rank 0; every rank must "
            "call fit_distributed with the same X, y, C and sample_weight")


def fit_distributed(X, y, formulation: str = "ww", C: float = 1.0, tol: float = 0.1,
                    max_iter: int = 1000, random_state=None, n_threads: int = 1,
                    exchange: str = "auto", fit_intercept: bool = True,
                    intercept_scaling: float = 1.0, llw_margin: str = "thesis",
                    sample_weight=None, shrinking: bool = True, verbose: int = 0,
                    check_data: bool = True, comm=None) -> DistributedFit:
    """Train WW or LLW with classes (and their weights and duals) spread over MPI ranks.

    Every rank calls it with the same ``X, y`` (see
    :func:`~xcsvm.distributed.data.load_svmlight_everywhere`). Rank ``r``
    optimises only the classes it owns; W is gathered (sparse) on rank 0 at
    the end. Stops when the largest projected-gradient violation of an epoch,
    over all ranks, is below ``tol``.

    Parameters
    ----------
    X : array-like or sparse matrix, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
    formulation : {"ww", "llw"}
        Weston–Watkins (Eq. III.3) or Lee–Lin–Wahba (Eq. III.2).
    C : float
        Regularisation parameter.
    tol : float
        Stopping threshold on the projected-gradient violation (thesis: 0.1).
    max_iter : int
        Maximum number of epochs.
    random_state : int, optional
        Seed of the per-epoch shuffles (the same on every rank).
    n_threads : int
        OpenMP threads inside each rank.
    exchange : {"auto", "sparse", "dense"}
        WW bundle exchange: only non-zeros (§4.2.5), whole rows, or the smaller.
    fit_intercept : bool
        Learn an intercept through an appended constant feature (default,
        as the single-machine estimators).
    intercept_scaling : float
        Value of that feature.
    llw_margin : {"thesis", "lee_lin_wahba"}
        LLW margin 1 (Eq. III.2) or ``1 / (n_classes - 1)`` (Lee, Lin and Wahba).
    sample_weight : array-like, optional
        Per-sample multipliers of C.
    shrinking : bool
        Skip dual variables that did not move in their last 3 visits
        (§4.1.1); when the violation of such an epoch is below ``tol``, one
        more epoch over all variables decides whether to stop.
    verbose : int
        1: a progress bar on rank 0 (violation per epoch); 2: also one line per
        epoch with primal and dual objective and relative gap.
    check_data : bool
        Compare a SHA-256 digest of the prepared training set across ranks
        (one 32-byte ``Allgather``) and raise if a rank got other data.
    comm : mpi4py.MPI.Comm, optional
        Default ``MPI.COMM_WORLD``.

    Returns
    -------
    DistributedFit

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> fit = fit_distributed(X, y, formulation="ww", C=0.1, tol=1e-2, random_state=0)
    >>> fit.coef.shape, fit.converged, bool(fit.dual_gap < 1e-2)
    ((3, 4), True, True)
    """
    from mpi4py import MPI

    if formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {formulation!r}")
    if llw_margin not in ("thesis", "lee_lin_wahba"):
        raise ValueError(f"llw_margin must be 'thesis' or 'lee_lin_wahba', got {llw_margin!r}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    if int(n_threads) < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads!r}")
    comm = comm if isinstance(comm, CountingComm) else CountingComm(
        MPI.COMM_WORLD if comm is None else comm)
    problem = prepare_problem(X, y, C, sample_weight, fit_intercept, intercept_scaling)
    overflow = np.flatnonzero(~np.isfinite(problem.sqnorm))
    if overflow.size:
        raise ValueError(
            f"X has {overflow.size} row(s) whose squared norm ||x||^2 overflows float64 (first: row "
            f"{overflow[0]}); the solver needs ||x||^2 as a finite number. Scale X (e.g. divide by its "
            "largest absolute value, or use sklearn's MaxAbsScaler / Normalizer)")
    empty = np.flatnonzero(problem.sqnorm <= 0.0)
    if empty.size:
        raise ValueError(
            f"X has {empty.size} all-zero row(s) (first: row {empty[0]}); remove them or "
            "set fit_intercept=True (a zero row carries no information)")
    if check_data and comm.size > 1:
        _check_same_data(problem, comm)
    owned = partition_classes(problem.class_counts, comm.size, formulation)
    mine = owned[comm.rank]
    ww_kernel, llw_factory = _kernels()
    weights = np.zeros((mine.size, problem.n_features))
    margin = 1.0 if llw_margin == "thesis" else 1.0 / (problem.n_classes - 1)
    if formulation == "ww":
        plan = plan_ww(owned, problem.class_counts, comm.rank)
        alpha = np.zeros(plan.n_alpha)
        stale = np.zeros(plan.n_alpha, dtype=np.uint8)
    else:
        alpha = np.zeros((mine.size, problem.n_samples))
        llw_kernel = llw_factory(problem, mine)

    def objectives():
        if formulation == "ww":
            return ww_objectives(plan, problem, weights, alpha, comm)
        return llw_objectives(problem, mine, weights, alpha, comm, margin)

    rng = np.random.default_rng(random_state)
    seeds = rng.integers(0, 2**63 - 1, size=max_iter)
    history, epoch_seconds = [], []
    bytes_before = dict(comm.bytes_sent)
    violation, converged, epoch = np.inf, False, 0
    shrink = bool(shrinking)
    from tqdm.auto import tqdm

    progress = tqdm(total=max_iter, desc=f"{formulation.upper()} on {comm.size} rank(s)", unit="epoch",
                    disable=not (verbose and comm.rank == 0))
    for epoch in range(1, max_iter + 1):
        start = time.perf_counter()
        epoch_rng = np.random.default_rng(seeds[epoch - 1])
        if formulation == "ww":
            positions = _class_positions(problem, epoch_rng)
            local = ww_epoch(plan, problem, weights, alpha, positions, comm, ww_kernel,
                             int(n_threads), exchange, stale, shrink)
        else:
            order = epoch_rng.permutation(problem.n_samples).astype(np.int64)
            llw_kernel.shrink = shrink
            local = llw_epoch(problem, mine, weights, alpha, order, comm, llw_kernel,
                              margin, int(n_threads))
        violation = comm.allreduce_max(local, kind="control")
        epoch_seconds.append(time.perf_counter() - start)
        record = {"epoch": epoch, "violation": violation, "seconds": epoch_seconds[-1],
                  "shrinking": shrink}
        progress.update(1)
        progress.set_postfix(violation=f"{violation:.3g}", refresh=False)
        if verbose >= 2:
            primal, dual = objectives()
            record.update(primal=primal, dual=dual)
            if comm.rank == 0:
                progress.write(f"epoch {epoch:4d}  primal {primal:.6g}  dual {dual:.6g}  "
                               f"gap {(primal - dual) / max(abs(primal), 1e-300):.3e}  "
                               f"violation {violation:.3e}  {epoch_seconds[-1]:.3f}s")
        history.append(record)
        if violation < tol and shrink:
            shrink = False  # one more epoch over all variables before stopping
        elif violation < tol:
            converged = True
            break
        else:
            shrink = bool(shrinking)
    progress.close()
    bytes_per_epoch = {kind: (value - bytes_before.get(kind, 0)) / epoch
                       for kind, value in comm.bytes_sent.items()
                       if kind not in ("objective", "data")}
    primal, dual = objectives()
    gathered = _gather_rows(comm, weights, owned, problem.n_classes)
    coef = intercept = None
    if gathered is not None:
        if fit_intercept:
            intercept = gathered[:, -1].toarray().ravel() * intercept_scaling
            coef = gathered[:, :-1].tocsr()
        else:
            intercept, coef = np.zeros(problem.n_classes), gathered
    return DistributedFit(
        coef=coef, intercept=intercept, classes=problem.classes, formulation=formulation,
        n_iter=epoch, converged=converged, primal=primal, dual=dual, violation=violation,
        owned=owned, bytes_per_epoch=bytes_per_epoch, bytes_sent=dict(comm.bytes_sent),
        epoch_seconds=epoch_seconds, history=history)
