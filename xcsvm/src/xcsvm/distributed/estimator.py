"""The estimators over MPI: :class:`DistributedWWClassifier` and :class:`DistributedLLWClassifier`.

They are the single-machine estimators with another solver behind
:meth:`fit`: the same parameters, the same validation (``class_weight``,
``sample_weight``, the intercept as an implicit constant feature, X never
copied) and the same fitted attributes. Every rank calls :meth:`fit` with the
same data; rank 0 ends with the complete model (``coef_`` as a CSR matrix, the
form :meth:`sparsify` gives, since a model trained over MPI is typically too
large to hold densely), the other ranks with the training facts only
(``coef_`` and ``intercept_`` are None there).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import StrOptions

from xcsvm.estimators import (
    _ATTRIBUTES_DOC,
    _PARAMETERS_DOC,
    LLWClassifier,
    WWClassifier,
    _MultiClassSVM,
)

from .exchange import CountingComm

__all__ = ["DistributedWWClassifier", "DistributedLLWClassifier"]

_DISTRIBUTED_PARAMETERS_DOC = """    exchange : {"auto", "sparse", "dense"}, default="auto"
        WW bundle exchange between matched ranks: only the non-zeros
        (§4.2.5), whole rows, or whichever is smaller per message.
    check_data : bool, default=True
        Compare a SHA-256 digest of the prepared training set across ranks
        (one 32-byte ``Allgather``) and raise if a rank got other data.
    comm : mpi4py.MPI.Comm, optional
        The ranks to train on (default ``MPI.COMM_WORLD``). ``n_jobs`` is the
        number of OpenMP threads inside each rank.
"""

_DISTRIBUTED_ATTRIBUTES_DOC = """    converged_ : bool
        Whether the violation fell below ``tol``.
    violation_ : float
        Largest projected-gradient violation of the last epoch (over all ranks).
    owned_classes_ : list of ndarray
        Class indices held by every rank.
    bytes_per_epoch_, bytes_sent_ : dict
        Bytes this rank handed to MPI per epoch and in all, by message kind.
    epoch_seconds_ : list of float
        Wall time of every epoch on this rank.
"""


class _DistributedSolver:
    """The MPI solver behind ``fit`` (mixed in before an estimator class)."""

    # Set by the estimator classes it is mixed into (their parameters and ``_formulation``).
    _formulation: str
    tol: float
    max_iter: int
    shrinking: bool
    warm_start: bool
    random_state: int | np.random.RandomState | None
    verbose: int
    exchange: str
    check_data: bool
    comm: Any

    def _counting_comm(self):
        if isinstance(self.comm, CountingComm):
            return self.comm
        from mpi4py import MPI

        return CountingComm(MPI.COMM_WORLD if self.comm is None else self.comm)

    def _solve(self, problem, *, n_threads, margin, alpha):
        from .solver import solve_distributed

        if self.warm_start:
            raise ValueError(
                "warm_start=True is not available over MPI: the dual variables stay spread over the "
                "ranks between fits; use warm_start=False"
            )
        return solve_distributed(
            self._formulation,
            problem,
            self._counting_comm(),
            tol=self.tol,
            max_iter=self.max_iter,
            shrinking=self.shrinking,
            n_threads=n_threads,
            random_state=self.random_state,
            verbose=self.verbose,
            margin=margin,
            exchange=self.exchange,
            check_data=self.check_data,
        )

    def _store_model(self, problem, result, bias, margin, n_threads):
        self.primal_objective_ = result.primal
        self.dual_objective_ = result.dual
        self.dual_gap_ = (result.primal - result.dual) / max(
            abs(result.primal), np.finfo(float).tiny
        )
        self.converged_ = result.converged
        self.violation_ = result.violation
        self.owned_classes_ = result.owned
        self.bytes_per_epoch_ = result.bytes_per_epoch
        self.bytes_sent_ = result.bytes_sent
        self.epoch_seconds_ = result.epoch_seconds
        if result.W is None:  # not rank 0
            self.coef_ = self.intercept_ = self.density_ = None
            return
        d = problem.n_features
        W = result.W
        if not np.all(np.isfinite(W.data)):
            raise ValueError(
                f"{type(self).__name__}: the solver produced non-finite weights (an intermediate overflowed "
                "float64); scale X (e.g. divide by its largest absolute value, or use sklearn's MaxAbsScaler)"
            )
        self.coef_ = W[:, :d].tocsr()
        self.intercept_ = W[:, d].toarray().ravel() * bias if bias else np.zeros(problem.n_classes)
        self.density_ = self.coef_.nnz / max(self.coef_.shape[0] * self.coef_.shape[1], 1)


_SHARED = {
    "exchange": [StrOptions({"auto", "sparse", "dense"})],
    "check_data": ["boolean"],
    "comm": "no_validation",
}


class DistributedWWClassifier(_DistributedSolver, WWClassifier):
    __doc__ = (
        """Weston-Watkins multi-class linear SVM (Eq. III.3) trained over MPI ranks.

    The classes, their weight vectors and their dual variables are spread over
    the ranks (§4.2.5): a two-level 1-factorization (Algorithm 4 inside a rank,
    then between ranks, which swap class bundles). Run every rank's script
    under ``mpiexec``; each calls :meth:`fit` with the same data.

    A 2-D 0/1 indicator ``y`` trains the multi-label WW of
    :class:`~xcsvm.WWClassifier` (pairwise ranking hinge) with the label
    bundles spread over the ranks (:mod:`xcsvm.distributed.multilabel`);
    rank 0 ends with the thread version's attributes (a dense ``coef_``,
    ``decision_rule_``, ``multilabel_ = True``).
"""
        + _PARAMETERS_DOC
        + _DISTRIBUTED_PARAMETERS_DOC
        + _ATTRIBUTES_DOC
        + _DISTRIBUTED_ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm.distributed import DistributedWWClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DistributedWWClassifier(C=1.0, random_state=0).fit(X, y)  # one rank without mpiexec
    >>> bool(model.score(X, y) > 0.9)
    True
"""
    )
    _formulation = "ww"
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_MultiClassSVM._parameter_constraints,
        **_SHARED,
    }

    def __init__(
        self,
        C=1.0,
        tol=0.1,
        max_iter=1000,
        shrinking=True,
        fit_intercept=True,
        intercept_scaling=1.0,
        class_weight=None,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        exchange="auto",
        check_data=True,
        comm=None,
    ):
        super().__init__(
            C=C,
            tol=tol,
            max_iter=max_iter,
            shrinking=shrinking,
            fit_intercept=fit_intercept,
            intercept_scaling=intercept_scaling,
            class_weight=class_weight,
            warm_start=warm_start,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
        )
        self.exchange = exchange
        self.check_data = check_data
        self.comm = comm

    def fit(self, X, y, sample_weight=None):
        """Fit over the MPI ranks: multi-class WW, or multi-label WW for a 2-D 0/1 ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (the same on every rank).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix of label sets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative per-sample weights scaling ``C``.

        Returns
        -------
        self
        """
        from xcsvm.multilabel import fit_multilabel, is_multilabel_target

        if not is_multilabel_target(y):
            return super().fit(X, y, sample_weight)
        self._validate_params()
        if self.warm_start:
            raise ValueError(
                "warm_start=True is not available over MPI: the dual variables stay spread over the "
                "ranks between fits; use warm_start=False"
            )
        from .multilabel import solve_multilabel_distributed

        comm = self._counting_comm()
        bytes_before = dict(comm.bytes_sent)

        results = []

        def solver(problem, **kwargs):
            results.append(
                solve_multilabel_distributed(problem, comm, check_data=self.check_data, **kwargs)
            )
            return results[-1]

        fit_multilabel(self, X, y, sample_weight, solver=solver)
        history = self.history_
        self.converged_ = results[-1].converged
        self.violation_ = history[-1]["violation"]
        self.owned_classes_ = results[-1].owned
        self.bytes_sent_ = dict(comm.bytes_sent)
        self.bytes_per_epoch_ = {
            kind: (value - bytes_before.get(kind, 0)) / max(self.n_iter_, 1)
            for kind, value in comm.bytes_sent.items()
            if kind not in ("objective", "data", "gather")
        }
        self.epoch_seconds_ = [record["seconds"] for record in history]
        return self


class DistributedLLWClassifier(_DistributedSolver, LLWClassifier):
    __doc__ = (
        """Lee-Lin-Wahba multi-class linear SVM (Eq. III.2) trained over MPI ranks.

    Each rank optimises its own classes given ``wbar``; ``wbar`` is one
    ``Allreduce`` of a d-vector per tenth of an epoch (Algorithm 1).
"""
        + _PARAMETERS_DOC
        + """    margin : {"thesis", "lee_lin_wahba"}, default="thesis"
        ``"thesis"``: m = 1 (Eq. III.2). ``"lee_lin_wahba"``: m = 1 / (n_classes - 1).
"""
        + _DISTRIBUTED_PARAMETERS_DOC
        + _ATTRIBUTES_DOC
        + _DISTRIBUTED_ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm.distributed import DistributedLLWClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = DistributedLLWClassifier(C=0.1, random_state=0).fit(X, y)
    >>> bool(abs(model.coef_.sum(axis=0)).max() < 1e-9)
    True
"""
    )
    _formulation = "llw"
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **LLWClassifier._parameter_constraints,
        **_SHARED,
    }

    def __init__(
        self,
        C=1.0,
        tol=0.1,
        max_iter=1000,
        shrinking=True,
        fit_intercept=True,
        intercept_scaling=1.0,
        class_weight=None,
        warm_start=False,
        n_jobs=None,
        random_state=None,
        verbose=0,
        margin="thesis",
        exchange="auto",
        check_data=True,
        comm=None,
    ):
        super().__init__(
            C=C,
            tol=tol,
            max_iter=max_iter,
            shrinking=shrinking,
            fit_intercept=fit_intercept,
            intercept_scaling=intercept_scaling,
            class_weight=class_weight,
            warm_start=warm_start,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
            margin=margin,
        )
        self.exchange = exchange
        self.check_data = check_data
        self.comm = comm
