"""Ranking metrics of extreme multi-label classification: P@k, nDCG@k, PSP@k.

The definitions are those of the Extreme Classification Repository (Bhatia et al.) and
of Jain, Prabhu & Varma (2016), "Extreme multi-label loss functions for
recommendation, tagging, ranking & other missing label applications" (KDD):

* ``P@k  = 1/k  sum_{l in rank_k(s)} y_l``
* ``DCG@k = sum_{r=1..k} y_{pi(r)} / log2(r + 1)``,
  ``nDCG@k = DCG@k / sum_{r=1..min(k, |y|)} 1 / log2(r + 1)``
* ``PSP@k = 1/k  sum_{l in rank_k(s)} y_l / p_l`` with the propensities ``p_l`` of
  :func:`propensities`.

Each is averaged over the samples. A sample without any relevant label scores 0 in every
metric (and still counts in the average), as in the repository's evaluation code.

**Ties** in the scores are broken deterministically: among equal scores the label with
the smaller column index ranks first (a stable sort of ``-scores``). ``-inf`` scores are
allowed (a label that must never be predicted); NaN scores are refused.

Differences to :func:`sklearn.metrics.ndcg_score`: scikit-learn accepts graded relevance
and by default averages the gain over tied scores (``ignore_ties=False``) instead of
breaking ties by index; for 0/1 relevance and scores without ties the two agree (its
ideal DCG of a binary row is the same sum over ``min(k, |y|)`` ranks), which the tests
check.

Examples
--------
>>> import numpy as np
>>> from xcsvm.metrics import precision_at_k, ndcg_at_k
>>> Y = np.array([[1, 0, 1, 0], [0, 1, 0, 0]])
>>> scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.2, 0.1, 0.7, 0.3]])
>>> float(precision_at_k(Y, scores, k=1)), float(precision_at_k(Y, scores, k=2))
(0.5, 0.25)
>>> round(float(ndcg_at_k(Y, scores, k=2)), 4)
0.3066
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from xcsvm.exceptions import MetricInputError, NonBinaryLabelsError, ShapeMismatchError

__all__ = [
    "precision_at_k",
    "ndcg_at_k",
    "propensity_scored_precision_at_k",
    "propensities",
    "top_k_labels",
    "PROPENSITY_PARAMETERS",
]

#: ``(A, B)`` of the propensity model per dataset family, as given by Jain et al. (2016)
#: and used by the Extreme Classification Repository: Wikipedia-derived sets (e.g.
#: WikiLSHTC-325K, Wiki10-31K) ``A=0.5, B=0.4``; Amazon sets ``A=0.6, B=2.6``; all
#: others the default ``A=0.55, B=1.5``.
PROPENSITY_PARAMETERS = {
    "default": (0.55, 1.5),
    "wikipedia": (0.5, 0.4),
    "amazon": (0.6, 2.6),
}

# Entries of the score matrix ranked at once: bounds the temporaries (up to ~20 bytes an
# entry when every score of a row is tied) to ~100 MB whatever the number of labels.
_CHUNK_ENTRIES = 1 << 22


def _row_chunks(n_rows: int, n_labels: int) -> list[slice]:
    step = max(1, _CHUNK_ENTRIES // max(n_labels, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def _check_k(k: object, n_labels: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or int(k) < 1:
        raise MetricInputError(f"k must be an integer >= 1, got {k!r}")
    if int(k) > n_labels:
        raise MetricInputError(
            f"k={k} exceeds the number of labels ({n_labels}); choose k <= {n_labels}"
        )
    return int(k)


def _check_labels(Y_true: Any) -> Any:
    """``Y_true`` as a CSR matrix of 0/1 entries (explicit zeros removed)."""
    if sp.issparse(Y_true):
        Y = sp.csr_matrix(Y_true)
        values = Y.data
    else:
        Y = np.asarray(Y_true)
        if Y.dtype == object:
            raise NonBinaryLabelsError(
                "Y_true is an object array; pass a 0/1 indicator matrix (n_samples, n_labels), e.g. "
                "from sklearn.preprocessing.MultiLabelBinarizer"
            )
        values = Y
    if Y.ndim != 2:
        raise ShapeMismatchError(
            f"Y_true must be a 2-d indicator matrix (n_samples, n_labels), got shape {Y.shape}"
        )
    if values.dtype.kind not in "biuf":
        raise NonBinaryLabelsError(f"Y_true has dtype {values.dtype}; pass a 0/1 indicator matrix")
    bad = (values != 0) & (values != 1)
    if np.any(bad):
        example = values[bad].ravel()[0].item()
        raise NonBinaryLabelsError(
            f"Y_true must hold only 0 and 1 (an indicator of relevant labels), found {example!r}; "
            "binarise graded relevance first (e.g. Y_true > 0)"
        )
    Y = sp.csr_matrix(Y, dtype=np.int8)
    Y.eliminate_zeros()
    Y.sort_indices()
    return Y


def _check_inputs(Y_true: Any, scores: Any) -> tuple[Any, np.ndarray]:
    Y = _check_labels(Y_true)
    if sp.issparse(scores):
        raise MetricInputError(
            "scores is a sparse matrix; its missing entries have no defined rank. Pass a dense "
            "array (scores.toarray()), with -inf for labels that must never be ranked"
        )
    S = np.asarray(scores)
    if S.dtype.kind not in "biuf":
        raise MetricInputError(f"scores has dtype {S.dtype}; pass real-valued scores")
    if S.shape != Y.shape:
        raise ShapeMismatchError(
            f"scores has shape {S.shape} but Y_true has shape {Y.shape}; both must be "
            "(n_samples, n_labels)"
        )
    if S.shape[0] == 0:
        raise ShapeMismatchError("Y_true and scores have 0 samples; pass at least one sample")
    S = S.astype(np.float64, copy=False)
    if np.isnan(S).any():
        raise MetricInputError("scores holds NaN; every score must be a number (+-inf allowed)")
    return Y, S


def _rank_rows(S: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest entries of each row of dense ``S``, best first;
    equal scores: smaller index first."""
    n, n_labels = S.shape
    rows = np.arange(n)[:, None]
    if k == n_labels:
        top = np.broadcast_to(np.arange(n_labels), S.shape)
    else:
        # The k largest by a partition (O(K) a row, not a sort); which of several entries
        # equal to the k-th largest value it keeps is unspecified, so ties there are
        # resolved below.
        top = np.argpartition(S, n_labels - k, axis=1)[:, n_labels - k :]
        kth = S[rows, top].min(axis=1)
        greater = np.greater(S, kth[:, None])
        tied = np.equal(S, kth[:, None])
        above, equal = greater.sum(axis=1), tied.sum(axis=1)
        ambiguous = np.flatnonzero(above + equal > k)  # more tied entries than places left
        if ambiguous.size:
            # keep every entry above the k-th value and the tied ones of smallest index
            tied_row, tied_col = np.nonzero(tied[ambiguous])  # row-major: by index in a row
            first_of_row = np.concatenate(([0], np.cumsum(equal[ambiguous])[:-1]))
            rank_in_row = np.arange(tied_row.size) - first_of_row[tied_row]
            kept = rank_in_row < (k - above[ambiguous])[tied_row]
            above_row, above_col = np.nonzero(greater[ambiguous])
            row = np.concatenate([above_row, tied_row[kept]])
            col = np.concatenate([above_col, tied_col[kept]])
            top = top.copy()
            top[ambiguous] = col[np.argsort(row, kind="stable")].reshape(ambiguous.size, k)
    # Order the k chosen: by score descending, then index ascending.
    chosen = S[rows, top]
    order = np.lexsort((top, -chosen), axis=1)
    return np.take_along_axis(top, order, axis=1)


def top_k_labels(scores: npt.ArrayLike, k: int) -> np.ndarray:
    """The ``k`` highest-scoring label indices of every row, best first.

    Ties are broken by the smaller label index first, so the result does not depend on
    the sorting algorithm or the platform.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_labels)
        Dense real scores; ``-inf`` allowed, NaN refused.
    k : int
        Number of labels, ``1 <= k <= n_labels``.

    Returns
    -------
    ndarray of shape (n_samples, k), int64

    Examples
    --------
    >>> from xcsvm.metrics import top_k_labels
    >>> top_k_labels([[0.5, 0.9, 0.5, 0.1]], k=3).tolist()
    [[1, 0, 2]]
    """
    S = np.asarray(scores)
    if sp.issparse(scores) or S.ndim != 2 or S.dtype.kind not in "biuf":
        raise MetricInputError(
            f"scores must be a dense real 2-d array, got {type(scores).__name__} {S.shape}"
        )
    S = S.astype(np.float64, copy=False)
    if np.isnan(S).any():
        raise MetricInputError("scores holds NaN; every score must be a number (+-inf allowed)")
    k = _check_k(k, S.shape[1])
    parts = [_rank_rows(S[rows], k) for rows in _row_chunks(*S.shape)]
    return np.concatenate(parts).astype(np.int64) if parts else np.empty((0, k), dtype=np.int64)


def _hits(Y: Any, top: np.ndarray) -> np.ndarray:
    """``hits[i, r] = Y[i, top[i, r]]`` (0/1) for CSR ``Y`` with sorted indices."""
    n, k = top.shape
    rows = np.repeat(np.arange(n), k)
    return np.asarray(Y[rows, top.ravel()]).reshape(n, k).astype(np.float64)


def precision_at_k(Y_true: Any, scores: npt.ArrayLike, k: int = 1) -> float:
    """Precision at ``k``: the fraction of the ``k`` top-scored labels that are relevant,
    averaged over samples.

    ``P@k = 1/n sum_i 1/k |rank_k(s_i) ∩ Y_i|``. The denominator is ``k`` even when a sample
    has fewer than ``k`` relevant labels (the Extreme Classification Repository's convention).

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of the relevant labels.
    scores : array-like of shape (n_samples, n_labels)
        Dense scores (e.g. ``decision_function``); ties: smaller label index first.
    k : int, default=1
        ``1 <= k <= n_labels``.

    Returns
    -------
    float

    Raises
    ------
    ShapeMismatchError
        ``scores`` and ``Y_true`` differ in shape, or have no samples.
    NonBinaryLabelsError
        ``Y_true`` holds values other than 0 and 1.
    MetricInputError
        ``k`` out of range, NaN or sparse scores (the base class of the two above).

    Examples
    --------
    >>> from xcsvm.metrics import precision_at_k
    >>> float(precision_at_k([[1, 0, 1]], [[0.2, 0.3, 0.9]], k=2))
    0.5
    """
    Y, S = _check_inputs(Y_true, scores)
    k = _check_k(k, Y.shape[1])
    total = 0.0
    for rows in _row_chunks(*S.shape):
        total += float(_hits(Y[rows], _rank_rows(S[rows], k)).sum())
    return total / (k * int(S.shape[0]))


def ndcg_at_k(Y_true: Any, scores: npt.ArrayLike, k: int = 1) -> float:
    """Normalised discounted cumulative gain at ``k`` with 0/1 relevance.

    ``DCG@k = sum_{r=1..k} y_{pi(r)} / log2(r + 1)`` over the ranking ``pi`` of the scores,
    divided by the ideal ``sum_{r=1..min(k, |Y_i|)} 1 / log2(r + 1)``, averaged over
    samples; a sample without relevant labels scores 0.

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of the relevant labels.
    scores : array-like of shape (n_samples, n_labels)
        Dense scores; ties: smaller label index first.
    k : int, default=1
        Rank cut-off, ``1 <= k <= n_labels``.

    Returns
    -------
    float

    Raises
    ------
    ShapeMismatchError, NonBinaryLabelsError, MetricInputError
        As :func:`precision_at_k`.

    Examples
    --------
    >>> from xcsvm.metrics import ndcg_at_k
    >>> round(float(ndcg_at_k([[1, 0, 1]], [[0.2, 0.3, 0.9]], k=2)), 4)  # (1 + 0) / (1 + 1/log2(3))
    0.6131
    """
    Y, S = _check_inputs(Y_true, scores)
    k = _check_k(k, Y.shape[1])
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])  # ideal[m] = best DCG with m relevant
    n_relevant = np.minimum(np.diff(Y.indptr), k)
    total = 0.0
    for rows in _row_chunks(*S.shape):
        dcg = _hits(Y[rows], _rank_rows(S[rows], k)) @ discount
        best = ideal[n_relevant[rows]]
        total += float(np.divide(dcg, best, out=np.zeros_like(dcg), where=best > 0).sum())
    return total / int(S.shape[0])


def propensities(Y: Any, A: float = 0.55, B: float = 1.5) -> np.ndarray:
    """Label propensities of Jain, Prabhu & Varma (2016) from training label counts.

    ``p_l = 1 / (1 + C exp(-A log(N_l + B)))`` with ``C = (log N - 1) (B + 1)^A``, where
    ``N`` is the number of training samples and ``N_l`` the number carrying label ``l``
    (natural logarithms). Rare labels get small propensities, so :func:`propensity_scored_precision_at_k`
    rewards predicting them. The paper's defaults are ``A=0.55, B=1.5``; its dataset-specific
    values are in :data:`PROPENSITY_PARAMETERS` (Wikipedia ``0.5, 0.4``; Amazon ``0.6, 2.6``).

    Parameters
    ----------
    Y : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of the *training* labels; at least 3 samples (``log N > 1``).
    A : float, default=0.55
        Positive.
    B : float, default=1.5
        Positive.

    Returns
    -------
    ndarray of shape (n_labels,), float64, in (0, 1)

    Examples
    --------
    >>> import numpy as np
    >>> from xcsvm.metrics import propensities
    >>> Y = np.zeros((100, 3), dtype=int); Y[:50, 0] = 1; Y[:2, 1] = 1
    >>> propensities(Y).round(4).tolist()
    [0.5942, 0.2502, 0.1732]
    """
    Y = _check_labels(Y)
    for name, value in (("A", A), ("B", B)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not np.isfinite(float(value))
            or value <= 0
        ):
            raise MetricInputError(f"{name} must be a positive finite number, got {value!r}")
    n_samples = Y.shape[0]
    if n_samples < 3:
        raise ShapeMismatchError(
            f"Y has {n_samples} samples; the propensity model needs log(N) > 1, i.e. at least 3 "
            "training samples"
        )
    counts = np.asarray(Y.sum(axis=0), dtype=np.float64).ravel()
    C = (np.log(n_samples) - 1.0) * (B + 1.0) ** A
    p: np.ndarray = 1.0 / (1.0 + C * np.exp(-A * np.log(counts + B)))
    return p


def propensity_scored_precision_at_k(
    Y_true: Any,
    scores: npt.ArrayLike,
    k: int = 1,
    *,
    propensities: npt.ArrayLike,
    normalize: bool = False,
) -> float:
    """Propensity-scored precision at ``k`` (Jain, Prabhu & Varma, 2016).

    ``PSP@k = 1/n sum_i 1/k sum_{l in rank_k(s_i)} y_il / p_l``: precision in which a hit on
    label ``l`` counts ``1/p_l``, an unbiased estimate of precision on the complete labels
    when labels are missing with probability ``1 - p_l``. With all ``p_l = 1`` it is P@k.

    Parameters
    ----------
    Y_true : array-like or sparse matrix of shape (n_samples, n_labels)
        0/1 indicator of the relevant (observed) labels.
    scores : array-like of shape (n_samples, n_labels)
        Dense scores; ties: smaller label index first.
    k : int, default=1
        Rank cut-off, ``1 <= k <= n_labels``.
    propensities : array-like of shape (n_labels,)
        ``p_l`` in (0, 1], normally :func:`propensities` of the *training* labels.
    normalize : bool, default=False
        ``False``: the paper's PSP@k (may exceed 1). ``True``: divided by the PSP@k of the
        best possible ranking (every sample's relevant labels of smallest propensity first),
        both summed over the dataset, as the Extreme Classification Repository's tables and
        pyxclib report it; then it lies in [0, 1] (0 when no sample has a relevant label).

    Returns
    -------
    float

    Raises
    ------
    ShapeMismatchError, NonBinaryLabelsError, MetricInputError
        As :func:`precision_at_k`; also ``propensities`` of the wrong length or outside (0, 1].

    Examples
    --------
    >>> from xcsvm.metrics import propensity_scored_precision_at_k
    >>> Y, s = [[1, 0, 1]], [[0.2, 0.3, 0.9]]
    >>> float(propensity_scored_precision_at_k(Y, s, k=2, propensities=[0.5, 1.0, 0.25]))
    2.0
    >>> float(propensity_scored_precision_at_k(Y, s, k=2, propensities=[0.5, 1.0, 0.25], normalize=True))
    0.6666666666666666
    """
    Y, S = _check_inputs(Y_true, scores)
    k = _check_k(k, Y.shape[1])
    p = np.asarray(propensities)
    if p.dtype.kind not in "biuf" or p.shape != (Y.shape[1],):
        raise ShapeMismatchError(
            f"propensities must be a real vector of n_labels={Y.shape[1]} entries, got {p.dtype} {p.shape}"
        )
    p = p.astype(np.float64)
    if not np.all((p > 0) & (p <= 1)):  # also refuses NaN
        raise MetricInputError(
            "propensities must lie in (0, 1]; compute them with xcsvm.metrics.propensities"
        )
    if not isinstance(normalize, (bool, np.bool_)):
        raise MetricInputError(f"normalize must be True or False, got {normalize!r}")
    weight = 1.0 / p
    scored = best = 0.0
    for rows in _row_chunks(*S.shape):
        top = _rank_rows(S[rows], k)
        scored += float((_hits(Y[rows], top) * weight[top]).sum())
        if normalize:
            best += _best_weights(Y[rows], weight, k)
    if normalize:
        return scored / best if best > 0 else 0.0
    return scored / (k * int(S.shape[0]))


def _best_weights(Y: Any, weight: np.ndarray, k: int) -> float:
    """Sum over rows of the ``k`` largest ``1/p_l`` among each row's relevant labels."""
    total = 0.0
    for i in range(Y.shape[0]):
        w = weight[Y.indices[Y.indptr[i] : Y.indptr[i + 1]]]
        if w.size > k:
            w = np.partition(w, w.size - k)[w.size - k :]
        total += float(w.sum())
    return total
