"""scikit-learn estimators for the three all-in-one multi-class SVMs.

* :class:`WWClassifier` -- Weston and Watkins (Eq. III.3), parallel over
  class pairs with the 1-factorization schedule (Algorithms 4-5).
* :class:`LLWClassifier` -- Lee, Lin and Wahba (Eq. III.2), parallel over
  classes through the auxiliary variable ``wbar`` (Algorithms 1-2).
* :class:`CSClassifier` -- Crammer and Singer, sequential dual block ascent.

All three minimise ``1/2 sum_c ||w_c||^2 + C sum_i s_i L_i(W)`` with
per-sample weights ``s_i = sample_weight_i * class_weight[y_i]``; the
intercept is the weight of an appended constant feature of value
``intercept_scaling`` (regularised, as in LIBLINEAR).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import SparseCoefMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from xcsvm.solvers import sparse_ops
from xcsvm.solvers.driver import all_finite, objectives, relative_gap, solve
from xcsvm.solvers.problem import csr_arrays, prepare_problem

if TYPE_CHECKING:
    from typing_extensions import Self

    from xcsvm.solvers.driver import SolveResult
    from xcsvm.solvers.problem import Problem

__all__ = ["WWClassifier", "LLWClassifier", "CSClassifier", "estimator_class"]

#: An array-like or a scipy sparse matrix (scipy ships no type information, so this is Any).
MatrixLike = Any

_F = TypeVar("_F", bound=Callable[..., Any])


def _typed_fit_context(prefer_skip_nested_validation: bool) -> Callable[[_F], _F]:
    """scikit-learn's ``_fit_context`` (parameter validation before ``fit``), typed for mypy.

    scikit-learn ships no type information; the decorator keeps the signature of the method it wraps.
    """
    decorator: Callable[[_F], _F] = _fit_context(
        prefer_skip_nested_validation=prefer_skip_nested_validation
    )
    return decorator


def _zero_outside_dual_support(
    W: NDArray[np.float64], problem: Problem, alpha: NDArray[np.float64]
) -> None:
    """Zero the entries of ``W`` that no sample with a non-zero dual coefficient touches (WW, CS).

    ``w_c = Σ_i (1[y_i = c] Σ_m α_im − α_ic) x_i`` (Eq. III.11), so ``w_cj`` is a sum over the
    samples with ``x_ij ≠ 0`` and a non-zero coefficient for class ``c``; where there is none it
    is 0 in exact arithmetic. Coordinate ascent adds a sample's contribution and subtracts it
    again when its dual variable returns to 0, which leaves ~1e-17 residues there that would
    count as non-zeros in ``density_`` (51 % instead of 35 % on the LSHTC-like benchmark).
    Changes ``W`` (any memory layout) in place; every other entry keeps its value. The
    compiled kernel (``sparse_ops.zero_outside_support``) marks each class' support in a
    byte mask of ``d`` entries, one pass over the non-zeros of its samples with a
    coefficient: no temporary of the size of ``W``, and about 10× faster than the sparse
    matrix products used before (REPRODUCTION.md, Fig. III.3).
    """
    sparse_ops.zero_outside_support(
        W,
        np.asarray(alpha, dtype=np.float64),
        np.ascontiguousarray(problem.y, dtype=np.int32),
        problem.indices,
        problem.indptr,
        problem.n_features,
    )


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells, else all)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:  # pragma: no cover
            pass
    return os.cpu_count() or 1


def effective_n_threads(n_jobs: int | None, max_useful: int | None = None) -> int:
    """Threads for ``n_jobs``, capped at the usable cores and at ``max_useful``.

    None: 1; negative: all usable cores but ``-n_jobs - 1``. More threads than
    cores only time-slice the same cores (each epoch 6-80x slower with
    ``n_jobs=1000``), and more threads than units of work (classes, class
    pairs, samples) would idle at every barrier.
    """
    cores = usable_cores()
    if n_jobs is None:
        threads = 1
    elif n_jobs < 0:
        threads = max(1, cores + 1 + int(n_jobs))
    else:
        threads = int(n_jobs)
    threads = min(threads, cores)
    if max_useful is not None:
        threads = min(threads, max(1, int(max_useful)))
    return max(1, threads)


def _check_float64_range(X: MatrixLike, name: str = "X") -> None:
    """Refuse finite extended-precision values that float64 cannot hold, before conversion.

    ``validate_data`` would convert them to inf and report "contains infinity",
    which is not what is wrong: the values are finite but out of range.
    """
    data = getattr(X, "data", None) if sp.issparse(X) else X
    if (
        isinstance(data, np.ndarray)
        and data.dtype.kind == "f"
        and data.dtype.itemsize > 8
        and data.size
    ):
        finite = data[np.isfinite(data)]
        largest = np.max(np.abs(finite)) if finite.size else 0
        if largest > np.finfo(np.float64).max:
            raise ValueError(
                f"{name} ({data.dtype}) holds finite values beyond the float64 range (largest |x| = "
                f"{largest:.3g} > {np.finfo(np.float64).max:.3g}); xcsvm computes in float64 -- scale {name} "
                "(e.g. divide by its largest absolute value) before fitting"
            )


def _class_labels(y: ArrayLike) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """``(classes, y_index)`` for any sortable hashable labels (README), checked.

    Unlike scikit-learn's ``check_classification_targets``, non-integral float
    labels (1.5, 2.5) and objects such as ``fractions.Fraction`` are class
    labels here; NaN, unsortable mixtures and a target in which every sample
    has its own non-integral float value (a regression target) are refused.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        check_classification_targets(y)  # sklearn's message for multi-output targets
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite labels; every sample needs a class label")
    if y.dtype.kind == "O":
        for label in y[:1000]:
            try:
                hash(label)
            except TypeError:
                raise ValueError(
                    f"label {label!r} of type {type(label).__name__} is not hashable; "
                    "use hashable, mutually sortable labels (numbers, strings, Fractions, ...)"
                ) from None
            if isinstance(label, float) and not np.isfinite(label):
                raise ValueError(
                    "y contains NaN or infinite labels; every sample needs a class label"
                )
    try:
        classes, y_index = np.unique(y, return_inverse=True)
    except TypeError as error:
        raise ValueError(
            f"the labels in y cannot be sorted against each other ({error}); use labels of one "
            "comparable kind (all numbers or all strings)"
        ) from error
    if (
        y.dtype.kind == "f"
        and classes.shape[0] == y.shape[0] > 2
        and not np.all(classes == np.round(classes))
    ):
        raise ValueError(
            f"Unknown label type: continuous -- every one of the {y.shape[0]} samples has its own "
            "non-integral float label, which looks like a regression target; xcsvm is a classifier "
            "and needs class labels (floats such as 1.5, 2.5 are fine when classes repeat)"
        )
    return classes, y_index.reshape(-1)


# sklearn ships no type information: its classes are Any to mypy, which strict mode refuses to subclass.
class _MultiClassSVM(SparseCoefMixin, ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Shared fitting and prediction; subclasses set ``_formulation``."""

    _formulation = ""

    # Fitted attributes (set by fit). coef_ is an ndarray, or a CSR matrix after sparsify() or an MPI fit.
    coef_: Any
    intercept_: Any
    classes_: NDArray[Any]
    n_iter_: int
    history_: list[dict[str, Any]]
    primal_objective_: float
    dual_objective_: float
    dual_gap_: float
    density_: Any
    _alpha: NDArray[np.float64]
    _alpha_classes: NDArray[Any]

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shrinking": ["boolean"],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        C: float = 1.0,
        tol: float = 0.1,
        max_iter: int = 1000,
        shrinking: bool = True,
        fit_intercept: bool = True,
        intercept_scaling: float = 1.0,
        class_weight: dict[Any, float] | str | None = None,
        warm_start: bool = False,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.shrinking = shrinking
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _margin(self, n_classes: int) -> float:
        return 1.0

    @_typed_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit the model by exact dual coordinate ascent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. CSR float32/float64 (int32 or int64 indices) is
            used without a copy; CSC, COO and dense input are converted to CSR.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative per-sample weights; they scale the dual box bound
            ``C`` of each sample.

        Returns
        -------
        self
        """
        if self.n_jobs is not None and self.n_jobs == 0:
            raise ValueError(
                "n_jobs == 0 is not allowed; use None, a positive count or -1 for all cores"
            )
        _check_float64_range(X)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc", "coo"],
            dtype=[np.float64, np.float32],
            accept_large_sparse=True,
        )
        classes, y_index = _class_labels(y)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y has {classes.shape[0]} class; xcsvm needs samples of at least two classes"
            )
        weights: NDArray[np.float64] = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if self.class_weight is not None:
            class_weight = compute_class_weight(self.class_weight, classes=classes, y=y)
        else:
            class_weight = np.ones(classes.shape[0])
        upper = self.C * weights * class_weight[y_index]
        if not np.any(upper > 0):
            raise ValueError(
                "all sample weights are zero; at least one sample needs a positive weight"
            )
        n_classes = classes.shape[0]
        bias = float(self.intercept_scaling) if self.fit_intercept else 0.0
        if not sp.issparse(X) or X.format != "csr":
            X = sp.csr_matrix(X)
        problem = prepare_problem(X, y_index, n_classes, upper, bias)
        margin = self._margin(n_classes)
        initial = self._warm_start_alpha(classes, problem)
        # Work that can run in parallel: WW matches class pairs (at most K // 2 per round),
        # LLW gives each thread whole classes, CS is sequential.
        max_useful = {"ww": n_classes // 2, "llw": n_classes, "cs": 1}[self._formulation]
        n_threads = effective_n_threads(self.n_jobs, max_useful)
        result = self._solve(problem, n_threads=n_threads, margin=margin, alpha=initial)
        if not result.converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in max_iter={self.max_iter} epochs "
                f"(last violation {result.history[-1]['violation']:.3g} > tol={self.tol}); "
                "increase max_iter or tol",
                ConvergenceWarning,
                stacklevel=1,  # attributed to xcsvm.estimators, as before (filters by module keep working)
            )
        self.classes_ = classes
        self._store_model(problem, result, bias, margin, n_threads)
        self.n_iter_ = result.n_iter
        self.history_ = result.history
        if self.warm_start:
            self._alpha = result.alpha
            self._alpha_classes = classes
        return self

    def _solve(
        self, problem: Problem, *, n_threads: int, margin: float, alpha: NDArray[np.float64] | None
    ) -> SolveResult:
        """The solver behind :meth:`fit`: this machine's threads (MPI ranks in ``xcsvm.distributed``)."""
        return solve(
            self._formulation,
            problem,
            tol=self.tol,
            max_iter=self.max_iter,
            shrinking=self.shrinking,
            n_threads=n_threads,
            random_state=self.random_state,
            verbose=self.verbose,
            margin=margin,
            alpha=alpha,
        )

    def _store_model(
        self, problem: Problem, result: SolveResult, bias: float, margin: float, n_threads: int
    ) -> None:
        """``coef_``, ``intercept_``, objectives and ``density_`` from the solver's weights.

        ``coef_`` is a view of the solver's weight buffer, not a copy (for WW
        and CS a transposed view: ``coef_.T`` is C-contiguous), so a fit holds
        one weight matrix (BENCHMARKS.md, "Peak memory of fit").
        """
        W = result.W
        if not all_finite(W):
            raise ValueError(
                f"{type(self).__name__}: the solver produced non-finite weights (an intermediate overflowed "
                f"float64; largest |x| in X is {np.max(np.abs(problem.data)) if problem.data.size else 0:.3g}); "
                "scale X (e.g. divide by its largest absolute value, or use sklearn's MaxAbsScaler)"
            )
        if self._formulation in ("ww", "cs"):
            _zero_outside_dual_support(W, problem, result.alpha)
        primal, dual = objectives(self._formulation, problem, W, result.alpha, margin, n_threads)
        d = problem.n_features
        self.coef_ = W[:, :d]
        self.intercept_ = W[:, d] * bias if bias else np.zeros(problem.n_classes)
        self.primal_objective_ = primal
        self.dual_objective_ = dual
        self.dual_gap_ = relative_gap(primal, dual)
        self.density_ = float(np.count_nonzero(self.coef_)) / self.coef_.size

    def _warm_start_alpha(
        self, classes: NDArray[Any], problem: Problem
    ) -> NDArray[np.float64] | None:
        """Previous dual variables made feasible for the new bounds, or None."""
        if not self.warm_start or not hasattr(self, "_alpha"):
            return None
        alpha: NDArray[np.float64] = self._alpha
        n, K = problem.n_samples, problem.n_classes
        expected = (K, n) if self._formulation == "llw" else (n, K)
        if alpha.shape != expected or not np.array_equal(self._alpha_classes, classes):
            warnings.warn(
                "warm_start ignored: the training set changed size or classes since the last fit",
                UserWarning,
                stacklevel=1,  # attributed to xcsvm.estimators, as before (filters by module keep working)
            )
            return None
        alpha = alpha.copy()
        upper = problem.upper
        if self._formulation == "llw":
            np.minimum(alpha, upper[None, :], out=alpha)
            alpha[problem.y, np.arange(n)] = 0.0
        else:
            alpha[np.arange(n), problem.y] = 0.0
            if self._formulation == "ww":
                np.minimum(alpha, upper[:, None], out=alpha)
            else:
                total = alpha.sum(axis=1)
                over = total > upper
                alpha[over] *= (upper[over] / total[over])[:, None]
        return alpha

    def _scores(self, X: MatrixLike) -> NDArray[np.float64]:
        check_is_fitted(self)
        _check_float64_range(X)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=False,
            accept_large_sparse=True,
        )
        coef = self.coef_
        scores: NDArray[np.float64]
        if (
            sp.issparse(X)
            and not sp.issparse(coef)
            and coef.dtype == np.float64
            and coef.T.flags.c_contiguous
        ):
            # Feature-major (the WW/CS fit's view): each non-zero reads all classes contiguously.
            out = np.empty((X.shape[0], coef.shape[0]))
            n_threads = effective_n_threads(self.n_jobs, X.shape[0])
            scores = sparse_ops.decision_scores_strided(*csr_arrays(X), coef, 0.0, out, n_threads)
        elif sp.issparse(X) and not sp.issparse(coef):
            W = np.ascontiguousarray(coef, dtype=np.float64)
            out = np.empty((X.shape[0], W.shape[0]))
            n_threads = effective_n_threads(self.n_jobs, X.shape[0])
            scores = sparse_ops.decision_scores(*csr_arrays(X), W, 0.0, out, n_threads)
        elif sp.issparse(
            X
        ):  # a sparse coef_ (sparsify, MPI): scipy's product mixes float32 and float64
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
                scores = np.asarray((X @ coef.T).toarray(), dtype=np.float64)
        else:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
                scores = np.asarray(safe_sparse_dot(X, coef.T, dense_output=True), dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            scores = scores + self.intercept_
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                "the decision scores w^T x + b overflow float64 for some samples (largest |x| is "
                f"{abs(X).max() if X.size else 0:.3g}); scale X as the training data was scaled"
            )
        return scores

    def score(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy of :meth:`predict` on ``(X, y)`` (weighted by ``sample_weight``).

        Computed directly, so that labels scikit-learn's metrics would call
        "continuous" (1.5, 2.5) or "unknown" (``Fraction``) work as in ``fit``.
        """
        correct = np.asarray(self.predict(X) == np.asarray(y), dtype=np.float64)
        weights = (
            None if sample_weight is None else np.asanyarray(sample_weight)
        )  # as np.average does
        return float(np.average(correct, weights=weights))

    def decision_function(self, X: MatrixLike) -> NDArray[np.float64]:
        """Class scores ``w_c^T x + b_c``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two
        classes (score of ``classes_[1]`` minus score of ``classes_[0]``).
        """
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X: MatrixLike) -> NDArray[Any]:
        """Predicted labels ``argmax_c w_c^T x + b_c`` (Eq. III.1)."""
        scores = self._scores(X)
        labels: NDArray[Any] = self.classes_[np.argmax(scores, axis=1)]
        return labels


_PARAMETERS_DOC = """
    Parameters
    ----------
    C : float, default=1.0
        Regularisation: the upper bound of the dual variables (> 0).
    tol : float, default=0.1
        Stop when the largest projected-gradient violation of an epoch is
        below ``tol`` (the thesis' choice). ``dual_gap_`` tells how close the
        result is: a violation of 0.1 can leave a gap of several percent.
    max_iter : int, default=1000
        Maximal number of epochs.
    shrinking : bool, default=True
        Skip dual variables that did not move in 3 epochs (Sec. 4.1.1).
    fit_intercept : bool, default=True
        Learn an intercept as the weight of an appended constant feature.
    intercept_scaling : float, default=1.0
        Value of that constant feature.
    class_weight : dict, "balanced" or None, default=None
        Multiplies ``C`` for the samples of each class.
    warm_start : bool, default=False
        Start from the dual variables of the previous fit (same samples and
        classes; the variables are clipped to the new bounds).
    n_jobs : int or None, default=None
        OpenMP threads (None: 1, -1: all usable cores, -2: all but one ...).
        Capped at the cores this process may use (``os.sched_getaffinity``)
        and at the parallel work: ``n_classes // 2`` class pairs for WW,
        ``n_classes`` for LLW, one thread for CS training and ``n_samples``
        for prediction; a larger ``n_jobs`` runs exactly like the cap.
    random_state : int, RandomState or None, default=None
        Seed of the per-epoch shuffles.
    verbose : int, default=0
        >= 1 prints per epoch the primal and dual objective, the relative
        duality gap, the violation and the active-set size, with a progress bar.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    coef_ : ndarray (or CSR after :meth:`sparsify`) of shape (n_classes, n_features)
    intercept_ : ndarray of shape (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Epochs run.
    primal_objective_, dual_objective_ : float
    dual_gap_ : float
        Relative duality gap ``(primal - dual) / primal`` of the returned
        model: an upper bound on its relative suboptimality.
    density_ : float
        Fraction of non-zero entries of ``coef_`` (the thesis' model density).
    history_ : list of dict
        Per epoch: violation, active-set size, wall seconds of the epoch (and
        objectives when verbose).
"""


class WWClassifier(_MultiClassSVM):
    __doc__ = (
        """Weston-Watkins multi-class linear SVM (Eq. III.3), exact dual coordinate ascent.

    Minimises ``1/2 sum_c ||w_c||^2 + C sum_i s_i sum_{c != y_i}
    max(0, 1 - (w_{y_i} - w_c)^T x_i)``. With ``n_jobs > 1`` the class pairs
    are optimised in parallel on the 1-factorization schedule (Algorithms
    4-5) over groups of classes balanced by sample count.

    **Multi-label mode.** With ``y`` a 2-D 0/1 indicator matrix (n, K) (dense,
    sparse or a list of lists) ``fit`` minimises the pairwise ranking hinge of
    our reading of Eq. III.17, ``1/2 sum_c ||w_c||^2 + C sum_i s_i sum_{p in
    Y_i} sum_{c not in Y_i} max(0, 1 - (w_p - w_c)^T x_i)`` (samples with no
    label or every label contribute nothing); ``decision_function`` returns
    the (n, K) scores and ``predict`` an indicator matrix by ``decision_rule_``:
    the ``k`` top-scoring labels, ``k`` learned on the training data (it
    maximises the example-based F1 there; other rules in ``decision_rules_``).
    ``classes_`` is ``arange(K)``, ``multilabel_`` is True; ``class_weight``
    is refused.
    See :mod:`xcsvm.multilabel`.
"""
        + _PARAMETERS_DOC
        + _ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm import WWClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = WWClassifier(C=1.0, random_state=0).fit(X, y)
    >>> bool(model.score(X, y) > 0.9)
    True
"""
    )
    _formulation = "ww"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def fit(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Fit the model by exact dual coordinate ascent (multi-class, or multi-label for a 2-D ``y``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix of label sets (multi-label mode).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative per-sample weights scaling ``C``.

        Returns
        -------
        self
        """
        from xcsvm.multilabel import fit_multilabel, is_multilabel_target

        if is_multilabel_target(y):
            self._validate_params()
            # xcsvm.multilabel is outside the strictly typed modules (its functions are unannotated).
            fitted: Self = fit_multilabel(self, X, y, sample_weight)  # type: ignore[no-untyped-call]
            return fitted
        super().fit(X, y, sample_weight)
        self.multilabel_ = False
        return self

    def decision_function(self, X: MatrixLike) -> NDArray[np.float64]:
        """Class scores ``w_c^T x + b_c``: (n_samples, n_labels) in multi-label mode, else as the base class.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two
        classes in multi-class mode.
        """
        if getattr(self, "multilabel_", False):
            return self._scores(X)
        return super().decision_function(X)

    def predict(self, X: MatrixLike) -> NDArray[Any]:
        """Labels ``argmax_c w_c^T x + b_c``, or in multi-label mode an indicator matrix.

        Multi-label rule (``decision_rule_``, see
        :func:`xcsvm.multilabel.apply_decision_rule`): the ``k`` highest-scoring
        labels, ``k`` learned on the training data.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        if getattr(self, "multilabel_", False):
            from xcsvm.multilabel import predict_multilabel

            # xcsvm.multilabel is outside the strictly typed modules (its functions are unannotated).
            indicator: NDArray[Any] = predict_multilabel(self, self._scores(X))  # type: ignore[no-untyped-call]
            return indicator
        return super().predict(X)

    def score(self, X: MatrixLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy; in multi-label mode the subset accuracy (scikit-learn's ``accuracy_score``)."""
        if getattr(self, "multilabel_", False):
            from sklearn.metrics import accuracy_score

            return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))
        return super().score(X, y, sample_weight)


class CSClassifier(_MultiClassSVM):
    __doc__ = (
        """Crammer-Singer multi-class linear SVM, sequential dual block coordinate ascent.

    Minimises ``1/2 sum_c ||w_c||^2 + C sum_i s_i max(0, max_{c != y_i}
    1 - (w_{y_i} - w_c)^T x_i)`` with the block updates of Keerthi et al.
    (2008) (LIBLINEAR ``-s 4``). Single-threaded: every step touches every
    class; ``n_jobs`` only parallelises prediction.
"""
        + _PARAMETERS_DOC
        + _ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm import CSClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> bool(CSClassifier(random_state=0).fit(X, y).score(X, y) > 0.9)
    True
"""
    )
    _formulation = "cs"


class LLWClassifier(_MultiClassSVM):
    __doc__ = (
        """Lee-Lin-Wahba multi-class linear SVM (Eq. III.2) with the auxiliary variable ``wbar``.

    Minimises ``1/2 sum_c ||w_c||^2 + C sum_i s_i sum_{c != y_i} max(0, m +
    w_c^T x_i)`` subject to ``sum_c w_c = 0``. Classes are optimised in
    parallel with ``wbar`` fixed; ``wbar`` is recomputed after every tenth
    of an epoch (Algorithm 1).
"""
        + _PARAMETERS_DOC
        + """    margin : {"thesis", "lee_lin_wahba"}, default="thesis"
        ``"thesis"``: m = 1 (Eq. III.2). ``"lee_lin_wahba"``: the original
        m = 1 / (n_classes - 1).
"""
        + _ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from xcsvm import LLWClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = LLWClassifier(C=0.1, random_state=0).fit(X, y)
    >>> abs(model.coef_.sum(axis=0)).max() < 1e-9
    np.True_
"""
    )
    _formulation = "llw"
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **_MultiClassSVM._parameter_constraints,
        "margin": [StrOptions({"thesis", "lee_lin_wahba"})],
    }

    def __init__(
        self,
        C: float = 1.0,
        tol: float = 0.1,
        max_iter: int = 1000,
        shrinking: bool = True,
        fit_intercept: bool = True,
        intercept_scaling: float = 1.0,
        class_weight: dict[Any, float] | str | None = None,
        warm_start: bool = False,
        n_jobs: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        margin: str = "thesis",
    ) -> None:
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
        self.margin = margin

    def _margin(self, n_classes: int) -> float:
        return 1.0 if self.margin == "thesis" else 1.0 / (n_classes - 1)


_CLASSES = {"ww": WWClassifier, "llw": LLWClassifier, "cs": CSClassifier}


def estimator_class(formulation: str) -> type[_MultiClassSVM]:
    """The estimator class of ``formulation`` ("ww", "llw" or "cs")."""
    try:
        return _CLASSES[formulation]
    except KeyError:
        raise ValueError(
            f"unknown formulation {formulation!r}; use one of {sorted(_CLASSES)}"
        ) from None
