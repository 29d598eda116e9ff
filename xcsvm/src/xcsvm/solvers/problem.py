"""The prepared training problem the kernels work on, and its objectives.

:class:`Problem` holds the CSR arrays of X (never copied), the class index of
every sample, the dual box bounds and the squared row norms; the objective
functions evaluate the primal (Eqs. III.2, III.3 and Crammer-Singer's) and
the dual (Eqs. III.4, III.5) for a weight matrix ``W`` kept by the kernels.
It is the one boundary of both front ends: the estimators and the MPI ranks
(:mod:`xcsvm.distributed`) solve the same :class:`Problem`. The objectives
score the samples a block at a time and read ``W`` in whatever layout it has
(no copy of ``W``, no ``W * W`` temporary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from xcsvm.solvers import sparse_ops

__all__ = ["Problem", "prepare_problem", "scores", "primal_objective", "dual_objective"]

FORMULATIONS = ("ww", "llw", "cs")


@dataclass
class Problem:
    """Arrays of one training problem in the layout of the kernel contract.

    Attributes
    ----------
    data, indices, indptr : ndarray
        CSR arrays of X (float32/float64 data, int32/int64 indices).
    n_features : int
        Columns of X (without the constant feature).
    y : ndarray of int32
        Class index of every sample, ``0 <= y < n_classes``.
    n_classes : int
    upper : ndarray of float64
        Dual box bound per sample, ``C * sample_weight * class_weight[y]``.
    sq_norms : ndarray of float64
        ``||x_i||^2 + bias^2``.
    bias : float
        Value of the appended constant feature (0: no intercept).
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_features: int
    y: np.ndarray
    n_classes: int
    upper: np.ndarray
    sq_norms: np.ndarray
    bias: float

    @property
    def n_samples(self) -> int:
        return self.y.shape[0]

    @property
    def n_columns(self) -> int:
        """Columns of ``W``: the features plus the intercept column if any."""
        return self.n_features + (1 if self.bias != 0.0 else 0)

    @property
    def csr_arrays(self):
        return self.data, self.indices, self.indptr

    @property
    def class_counts(self) -> np.ndarray:
        """Samples per class."""
        return np.bincount(self.y, minlength=self.n_classes)

    def samples_by_class(self) -> tuple[np.ndarray, np.ndarray]:
        """``(class_ptr, class_samples)``: samples of class ``c`` are ``class_samples[class_ptr[c]:class_ptr[c + 1]]``.

        int64, each class' samples in increasing order (the layout of the MPI
        ranks' dual blocks).
        """
        class_samples = np.argsort(self.y, kind="stable").astype(np.int64)
        class_ptr = np.zeros(self.n_classes + 1, dtype=np.int64)
        np.cumsum(self.class_counts, out=class_ptr[1:])
        return class_ptr, class_samples

    def matrix(self) -> sp.csr_matrix:
        """X as a scipy CSR matrix sharing the arrays (without the constant feature)."""
        return sp.csr_matrix(
            (self.data, self.indices, self.indptr), shape=(self.n_samples, self.n_features)
        )


def csr_arrays(X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of ``X`` with one index dtype, copying only what must change."""
    X = sp.csr_matrix(X) if not sp.issparse(X) or X.format != "csr" else X
    data = np.ascontiguousarray(X.data)
    if data.dtype not in (np.float32, np.float64):
        data = data.astype(np.float64)
    indices, indptr = X.indices, X.indptr
    if indices.dtype != indptr.dtype or indices.dtype not in (np.int32, np.int64):
        indices = indices.astype(np.int64)
        indptr = indptr.astype(np.int64)
    return data, np.ascontiguousarray(indices), np.ascontiguousarray(indptr)


def prepare_problem(X, y, n_classes, upper, bias=0.0) -> Problem:
    """Build a :class:`Problem` from a CSR matrix and class indices.

    Raises
    ------
    ValueError
        If a row of X is all zeros and there is no intercept (its dual
        variables would have zero curvature).
    """
    data, indices, indptr = csr_arrays(X)
    sq_norms = sparse_ops.row_sq_norms(data, indices, indptr, float(bias))
    overflow = np.flatnonzero(~np.isfinite(sq_norms))
    if overflow.size:
        # ||x_i||^2 is the curvature of every dual step (Eq. III.16); inf makes every
        # step 0 (W = 0) or NaN (CS), so no fit would be right.
        row = overflow[0]
        largest = (
            float(np.max(np.abs(data[indptr[row] : indptr[row + 1]])))
            if indptr[row + 1] > indptr[row]
            else 0.0
        )
        raise ValueError(
            f"X has {overflow.size} row(s) whose squared norm ||x||^2 overflows float{8 * data.itemsize} "
            f"(first: row {row}, largest |x| = {largest:.3g}); the solver needs ||x||^2 as a finite number. "
            "Scale X (e.g. divide by its largest absolute value, or use sklearn's MaxAbsScaler / Normalizer)"
        )
    if bias == 0.0 and np.any(sq_norms <= 0.0):
        n_rows = indptr.shape[0] - 1
        row_of_entry = np.repeat(np.arange(n_rows), np.diff(indptr))
        has_value = np.bincount(row_of_entry[data != 0], minlength=n_rows) > 0
        lost = np.flatnonzero((sq_norms <= 0.0) & has_value)
        if lost.size:
            raise ValueError(
                f"X has {lost.size} row(s) with non-zero entries whose squared norm underflows to 0 "
                f"(first: row {lost[0]}); scale X up (e.g. divide by its largest absolute value)"
            )
    empty = np.flatnonzero(sq_norms <= 0.0)
    if empty.size:
        raise ValueError(
            f"X has {empty.size} all-zero row(s) (first: row {empty[0]}) and fit_intercept=False; "
            "remove them or set fit_intercept=True (a zero row carries no information)"
        )
    return Problem(
        data=data,
        indices=indices,
        indptr=indptr,
        n_features=X.shape[1],
        y=np.ascontiguousarray(y, dtype=np.int32),
        n_classes=int(n_classes),
        upper=np.ascontiguousarray(upper, dtype=np.float64),
        sq_norms=sq_norms,
        bias=float(bias),
    )


#: Samples scored at a time by the objectives (bounds their n x K temporaries).
SCORE_BLOCK = 2048


def scores(
    problem: Problem, W: np.ndarray, n_threads: int = 1, start: int = 0, stop: int | None = None
) -> np.ndarray:
    """Decision scores ``X[start:stop] W^T`` (rows of W, any memory layout) without converting X."""
    stop = problem.n_samples if stop is None else stop
    out = np.empty((stop - start, W.shape[0]))
    return sparse_ops.decision_scores_strided(
        problem.data,
        problem.indices,
        problem.indptr[start : stop + 1],
        W,
        problem.bias,
        out,
        n_threads,
    )


def squared_norm(W: np.ndarray) -> float:
    """``||W||_F^2`` without a ``W * W`` temporary (any memory layout)."""
    return float(np.einsum("ij,ij->", W, W))


def primal_objective(formulation, problem: Problem, W, margin=1.0, n_threads=1) -> float:
    """Primal objective of ``W`` (Eq. III.3 for WW, III.2 for LLW, CS' primal).

    For LLW the constraint ``sum_c w_c = 0`` is assumed (the solver returns
    a centred ``W``). The samples are scored a block at a time.
    """
    if formulation not in ("ww", "llw", "cs"):
        raise ValueError(f"unknown formulation {formulation!r}")
    total = 0.0
    for start in range(0, problem.n_samples, SCORE_BLOCK):
        stop = min(start + SCORE_BLOCK, problem.n_samples)
        S = scores(problem, W, n_threads, start, stop)
        rows = np.arange(stop - start)
        y = problem.y[start:stop]
        if formulation == "llw":
            losses = np.maximum(0.0, margin + S, out=S)
        else:
            own = S[rows, y][:, None]
            losses = np.maximum(0.0, 1.0 - own + S, out=S)
        losses[rows, y] = 0.0
        per_sample = losses.max(axis=1) if formulation == "cs" else losses.sum(axis=1)
        total += float(problem.upper[start:stop] @ per_sample)
    return 0.5 * squared_norm(W) + total


def dual_objective(formulation, problem: Problem, W, alpha_sum, margin=1.0) -> float:
    """Dual objective ``margin * sum(alpha) - ||W||^2 / 2`` (Eqs. III.4, III.5).

    Valid when ``W`` is the primal image of ``alpha`` (for LLW after the
    final re-centring, i.e. with the optimal ``wbar``).
    """
    scale = margin if formulation == "llw" else 1.0
    return scale * float(alpha_sum) - 0.5 * squared_norm(W)
