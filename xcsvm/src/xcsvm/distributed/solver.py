"""Distributed solving: the MPI epoch handed to the shared epoch loop, and :func:`fit_distributed`.

:func:`solve_distributed` is the MPI counterpart of
:func:`xcsvm.solvers.driver.solve`: the same :class:`~xcsvm.solvers.problem.Problem`
(validated by the estimators' boundary, X never copied, the intercept an
implicit constant feature), the same schedule module
(:mod:`xcsvm.solvers.schedule`) and the same epoch loop
(:func:`xcsvm.solvers.driver.run_epochs`); only the epoch differs -- it runs
this rank's sweeps, exchanges the class bundles and reduces the violation and
the visited count over the ranks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from xcsvm.solvers.driver import run_epochs
from xcsvm.solvers.schedule import partition_classes

from .exchange import _EXCHANGE_MODES, CountingComm
from .llw import llw_epoch, llw_objectives
from .ww import plan_ww, ww_epoch, ww_objectives

__all__ = ["DistributedFit", "DistributedResult", "fit_distributed", "solve_distributed"]

FORMULATIONS = ("ww", "llw")


@dataclass
class DistributedResult:
    """What :func:`solve_distributed` returns on every rank.

    ``W`` is the gathered (n_classes, n_columns) CSR weight matrix on rank 0
    (None elsewhere; the intercept is its last column when ``bias != 0``).
    The dual variables stay spread over the ranks (``alpha`` is None).
    """

    W: sp.csr_matrix | None
    n_iter: int
    converged: bool
    history: list
    primal: float
    dual: float
    violation: float
    owned: list
    bytes_per_epoch: dict
    bytes_sent: dict
    epoch_seconds: list
    alpha: None = None


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
        Per epoch: violation, active variables (and objectives when ``verbose``).
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
    """The sweeps of a rank: :func:`xcsvm.distributed._sweeps.ww_pairs` and :func:`xcsvm.solvers.llw.llw_pass`.

    WW runs its own sweep because the single-machine WW kernel keeps ``alpha``
    as a dense (n, C) matrix on every rank, while here each rank holds only
    its pairs' dual blocks; both are built on the same ``box_step``. (A
    function, so that the fault-injection tests can wrap the kernels.)
    """
    from xcsvm.solvers.llw import llw_pass

    from ._sweeps import ww_pairs

    return ww_pairs, llw_pass


def _class_positions(class_counts, class_ptr, rng) -> np.ndarray:
    # A random visiting order inside each class: positions[class_ptr[c] + t]
    # is the offset (within class c's block) of the t-th sample visited.
    n = int(class_ptr[-1])
    keys = rng.random(n) + np.repeat(np.arange(class_counts.size), class_counts)
    order = np.argsort(keys, kind="stable")
    return (order - np.repeat(class_ptr[:-1], class_counts)).astype(np.int64)


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
    assert (
        indptr_all is not None and indices_all is not None and data_all is not None
    )  # allocated on root
    n_features = rows.shape[1]
    row_offset = value_offset = 0
    pieces = []
    for r, classes in enumerate(owned):
        indptr = indptr_all[row_offset : row_offset + len(classes) + 1]
        part = sp.csr_matrix(
            (
                data_all[value_offset : value_offset + all_sizes[r]],
                indices_all[value_offset : value_offset + all_sizes[r]],
                indptr,
            ),
            shape=(len(classes), n_features),
        )
        pieces.append((classes, part))
        row_offset += len(classes) + 1
        value_offset += int(all_sizes[r])
    order = np.concatenate([classes for classes, _ in pieces])
    stacked = sp.vstack([part for _, part in pieces], format="csr")
    coef = stacked[np.argsort(order)]
    coef.sort_indices()
    return coef


def _check_same_data(problem, classes, comm):
    from .data import digest_arrays

    mine = np.frombuffer(
        digest_arrays(
            problem.data,
            problem.indices,
            problem.indptr,
            problem.y,
            problem.upper,
            np.asarray(classes).astype(str),
            np.array([problem.n_features, problem.bias]),
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
            "call fit with the same X, y, C, class_weight and sample_weight"
        )


def solve_distributed(
    formulation: str,
    problem,
    comm: CountingComm,
    *,
    classes=None,
    tol: float = 0.1,
    max_iter: int = 1000,
    shrinking: bool = True,
    n_threads: int = 1,
    random_state=None,
    verbose: int = 0,
    margin: float = 1.0,
    exchange: str = "auto",
    check_data: bool = True,
) -> DistributedResult:
    """WW or LLW dual coordinate ascent with the classes spread over the ranks of ``comm``.

    Every rank calls it with the same :class:`~xcsvm.solvers.problem.Problem`.
    Rank ``r`` holds the weights and dual variables of its classes only
    (:func:`~xcsvm.solvers.schedule.partition_classes`); the epochs run in
    :func:`~xcsvm.solvers.driver.run_epochs` with the stopping rule of the
    single-machine solver; W is gathered (sparse) on rank 0 at the end.

    Parameters
    ----------
    formulation : {"ww", "llw"}
    problem : xcsvm.solvers.problem.Problem
    comm : CountingComm
    classes : array-like, optional
        Labels, only for the cross-rank data check.
    tol, max_iter, shrinking, n_threads, random_state, verbose, margin
        As for :func:`xcsvm.solvers.driver.solve` (``n_threads`` per rank).
    exchange : {"auto", "sparse", "dense"}
        WW bundle exchange: only non-zeros (§4.2.5), whole rows, or the smaller.
    check_data : bool
        Compare a digest of the problem across ranks first.

    Returns
    -------
    DistributedResult
    """
    from sklearn.utils import check_random_state

    if formulation not in FORMULATIONS:
        raise ValueError(
            f"formulation must be one of {FORMULATIONS}, got {formulation!r} (Crammer-Singer has no "
            "MPI solver: every block step of a sample moves all K weight vectors, see README)"
        )
    if exchange not in _EXCHANGE_MODES:
        raise ValueError(f"exchange mode must be one of {_EXCHANGE_MODES}, got {exchange!r}")
    if check_data and comm.size > 1:
        _check_same_data(problem, [] if classes is None else classes, comm)
    counts = problem.class_counts
    owned = partition_classes(counts, comm.size, formulation)
    mine = owned[comm.rank]
    ww_kernel, llw_kernel = _kernels()
    weights = np.zeros((mine.size, problem.n_columns))
    n, K = problem.n_samples, problem.n_classes
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    epoch_seconds: list[float] = []
    if formulation == "ww":
        plan = plan_ww(owned, counts, comm.rank)
        alpha = np.zeros(plan.n_alpha)
        stale = np.zeros(plan.n_alpha, dtype=np.uint8)
        class_ptr, class_samples = problem.samples_by_class()
    else:
        rows32 = np.ascontiguousarray(mine, dtype=np.int32)
        class_row = np.full(K, -1, dtype=np.int32)
        class_row[rows32] = np.arange(rows32.size, dtype=np.int32)
        alpha = np.zeros((mine.size, n))
        stale = np.zeros((mine.size, n), dtype=np.uint8)

    def epoch(shrink):
        start = time.perf_counter()
        if formulation == "ww":
            positions = _class_positions(counts, class_ptr, rng)
            violation, visited = ww_epoch(
                plan,
                problem,
                class_ptr,
                class_samples,
                weights,
                alpha,
                stale,
                positions,
                comm,
                ww_kernel,
                n_threads,
                exchange,
                shrink,
            )
        else:
            order = rng.permutation(n).astype(np.int32)
            violation, visited = llw_epoch(
                problem,
                rows32,
                class_row,
                weights,
                alpha,
                stale,
                order,
                comm,
                llw_kernel,
                margin,
                n_threads,
                shrink,
            )
        violation = comm.allreduce_max(violation, kind="control")
        visited = int(comm.sum_scalars([visited], kind="control")[0])
        epoch_seconds.append(time.perf_counter() - start)
        return violation, visited

    def objectives():
        if formulation == "ww":
            return ww_objectives(plan, problem, weights, alpha, comm, n_threads)
        return llw_objectives(problem, mine, weights, alpha, comm, margin, n_threads)

    bytes_before = dict(comm.bytes_sent)
    n_iter, converged, history = run_epochs(
        epoch,
        tol=tol,
        max_iter=max_iter,
        shrinking=shrinking,
        n_variables=n * (K - 1),
        objectives=objectives,
        show=verbose > 0 and comm.rank == 0,
        evaluate=verbose > 0,
        label=f"{formulation.upper()} on {comm.size} rank(s)",
    )
    bytes_per_epoch = {
        kind: (value - bytes_before.get(kind, 0)) / n_iter
        for kind, value in comm.bytes_sent.items()
        if kind not in ("objective", "data")
    }
    primal, dual = objectives()
    return DistributedResult(
        W=_gather_rows(comm, weights, owned, K),
        n_iter=n_iter,
        converged=converged,
        history=history,
        primal=primal,
        dual=dual,
        violation=history[-1]["violation"],
        owned=owned,
        bytes_per_epoch=bytes_per_epoch,
        bytes_sent=dict(comm.bytes_sent),
        epoch_seconds=epoch_seconds,
    )


def fit_distributed(
    X,
    y,
    formulation: str = "ww",
    C: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 1000,
    random_state=None,
    n_threads: int = 1,
    exchange: str = "auto",
    fit_intercept: bool = True,
    intercept_scaling: float = 1.0,
    llw_margin: str = "thesis",
    sample_weight=None,
    class_weight=None,
    shrinking: bool = True,
    verbose: int = 0,
    check_data: bool = True,
    comm=None,
) -> DistributedFit:
    """Train WW or LLW with classes (and their weights and duals) spread over MPI ranks.

    A functional front end of :class:`~xcsvm.distributed.DistributedWWClassifier`
    and :class:`~xcsvm.distributed.DistributedLLWClassifier` (the same
    validation, solver and fitted model; their convergence warning is left to
    the caller). Every rank calls it with the same ``X, y`` (see
    :func:`~xcsvm.distributed.data.load_svmlight_everywhere`).

    Parameters
    ----------
    X : array-like or sparse matrix, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
    formulation : {"ww", "llw"}
        Weston–Watkins (Eq. III.3) or Lee–Lin–Wahba (Eq. III.2).
    C, tol, max_iter, random_state, fit_intercept, intercept_scaling, class_weight, shrinking, verbose
        As for the estimators.
    n_threads : int
        OpenMP threads inside each rank.
    exchange : {"auto", "sparse", "dense"}
        WW bundle exchange: only non-zeros (§4.2.5), whole rows, or the smaller.
    llw_margin : {"thesis", "lee_lin_wahba"}
        LLW margin 1 (Eq. III.2) or ``1 / (n_classes - 1)`` (Lee, Lin and Wahba).
    sample_weight : array-like, optional
        Per-sample multipliers of C.
    check_data : bool
        Compare a SHA-256 digest of the prepared training set across ranks
        (one 32-byte ``Allgather``) and raise if a rank got other data.
    comm : mpi4py.MPI.Comm or CountingComm, optional
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
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .estimator import DistributedLLWClassifier, DistributedWWClassifier

    if formulation not in FORMULATIONS:
        raise ValueError(
            f"formulation must be one of {FORMULATIONS}, got {formulation!r} (Crammer-Singer has no "
            "MPI solver: every block step of a sample moves all K weight vectors, see README)"
        )
    params = dict(
        C=C,
        tol=tol,
        max_iter=max_iter,
        shrinking=shrinking,
        fit_intercept=fit_intercept,
        intercept_scaling=intercept_scaling,
        class_weight=class_weight,
        n_jobs=n_threads,
        random_state=random_state,
        verbose=verbose,
        exchange=exchange,
        check_data=check_data,
        comm=comm,
    )
    if formulation == "ww":
        model = DistributedWWClassifier(**params)
    else:
        model = DistributedLLWClassifier(margin=llw_margin, **params)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", ConvergenceWarning
        )  # the caller decides (the CLI warns on rank 0)
        model.fit(X, y, sample_weight=sample_weight)
    return DistributedFit(
        coef=model.coef_,
        intercept=model.intercept_,
        classes=model.classes_,
        formulation=formulation,
        n_iter=model.n_iter_,
        converged=model.converged_,
        primal=model.primal_objective_,
        dual=model.dual_objective_,
        violation=model.violation_,
        owned=model.owned_classes_,
        bytes_per_epoch=model.bytes_per_epoch_,
        bytes_sent=model.bytes_sent_,
        epoch_seconds=model.epoch_seconds_,
        history=model.history_,
    )
