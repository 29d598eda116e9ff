"""xcsvm.metrics against hand-computed values, a naive per-sample implementation written
from the definitions, and scikit-learn's ndcg_score where the definitions coincide."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

import xcsvm
from xcsvm.exceptions import MetricInputError, NonBinaryLabelsError, ShapeMismatchError
from xcsvm.metrics import (
    PROPENSITY_PARAMETERS,
    ndcg_at_k,
    precision_at_k,
    propensities,
    propensity_scored_precision_at_k,
    top_k_labels,
)


# ---------------------------------------------------------------- naive oracle (definitions)
def naive_ranking(row_scores, k):
    return sorted(range(len(row_scores)), key=lambda label: (-row_scores[label], label))[:k]


def naive_metrics(Y, S, k, p=None):
    """(P@k, nDCG@k, PSP@k, normalised PSP@k) by loops over samples and ranks."""
    Y, S = np.asarray(Y), np.asarray(S, dtype=float)
    p = np.ones(Y.shape[1]) if p is None else np.asarray(p, dtype=float)
    precision = ndcg = psp = psp_best = 0.0
    for y, s in zip(Y, S):
        ranked = naive_ranking(list(s), k)
        relevant = [label for label in range(len(y)) if y[label] == 1]
        precision += sum(y[label] for label in ranked) / k
        dcg = sum(y[label] / math.log2(rank + 2) for rank, label in enumerate(ranked))
        ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
        ndcg += dcg / ideal if ideal else 0.0
        psp += sum(y[label] / p[label] for label in ranked) / k
        psp_best += sum(sorted((1 / p[label] for label in relevant), reverse=True)[:k]) / k
    n = len(Y)
    return precision / n, ndcg / n, psp / n, (psp / psp_best if psp_best else 0.0)


# ---------------------------------------------------------------- hand-computed values
Y_HAND = np.array(
    [
        [1, 0, 1, 0, 0],
        [0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0],  # no relevant label: scores 0, still counted
        [1, 1, 1, 1, 0],
    ]
)
S_HAND = np.array(
    [
        [0.9, 0.8, 0.1, 0.0, 0.3],
        [0.2, 0.1, 0.7, 0.3, 0.0],
        [0.5, 0.4, 0.3, 0.2, 0.1],
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ]
)  # all tied: ranking 0, 1, 2, ...


def test_precision_by_hand():
    # k=1: hits 1, 0, 0, 1 -> 2/4; k=3: row0 {0,1,4}: 1, row1 {2,3,0}: 0, row3 {0,1,2}: 3 -> 4/12
    assert precision_at_k(Y_HAND, S_HAND, k=1) == pytest.approx(0.5)
    assert precision_at_k(Y_HAND, S_HAND, k=3) == pytest.approx(4 / 12)
    assert precision_at_k(Y_HAND, S_HAND, k=5) == pytest.approx((2 + 1 + 0 + 4) / 20)


def test_ndcg_by_hand():
    d = [1 / math.log2(r + 2) for r in range(3)]  # 1, 0.6309, 0.5
    row0 = d[0] / (d[0] + d[1])  # hit at rank 1 of {0, 1, 4}; 2 relevant
    row1 = 0.0  # ranking 2, 3, 0; label 1 missed
    row3 = 1.0  # tied scores -> 0, 1, 2, all relevant
    assert ndcg_at_k(Y_HAND, S_HAND, k=3) == pytest.approx((row0 + row1 + 0.0 + row3) / 4)
    assert ndcg_at_k(Y_HAND, S_HAND, k=1) == pytest.approx(0.5)  # nDCG@1 = P@1


def test_psp_by_hand():
    p = np.array([0.5, 1.0, 0.25, 1.0, 1.0])  # weights 2, 1, 4, 1, 1
    # k=2: row0 {0,1}: 2; row1 {2,3}: 0; row3 {0,1}: 2 + 1 = 3 -> (2 + 3) / (2 * 4)
    assert propensity_scored_precision_at_k(Y_HAND, S_HAND, k=2, propensities=p) == pytest.approx(
        5 / 8
    )
    # best: row0 {2,0}: 6; row1 {1}: 1; row3 {2,0}: 6 -> 5 / 13
    assert propensity_scored_precision_at_k(
        Y_HAND, S_HAND, k=2, propensities=p, normalize=True
    ) == pytest.approx(5 / 13)


def test_propensities_formula_by_hand():
    Y = np.zeros((100, 3), dtype=int)
    Y[:50, 0] = 1
    Y[:2, 1] = 1
    A, B = 0.55, 1.5
    C = (math.log(100) - 1) * (B + 1) ** A
    expected = [1 / (1 + C * math.exp(-A * math.log(n + B))) for n in (50, 2, 0)]
    np.testing.assert_allclose(propensities(Y), expected, rtol=1e-12)
    np.testing.assert_allclose(
        propensities(sp.csr_matrix(Y), *PROPENSITY_PARAMETERS["wikipedia"]),
        [1 / (1 + (math.log(100) - 1) * 1.4**0.5 * (n + 0.4) ** -0.5) for n in (50, 2, 0)],
    )
    assert np.all(np.diff(propensities(Y)) < 0)  # rarer label, smaller propensity


def test_top_k_labels_breaks_ties_by_smaller_index():
    scores = np.array([[0.5, 0.9, 0.5, 0.1, 0.5], [-np.inf, 0.0, 0.0, 2.0, 0.0]])
    assert top_k_labels(scores, 3).tolist() == [[1, 0, 2], [3, 1, 2]]
    assert top_k_labels(scores, 5).tolist() == [[1, 0, 2, 4, 3], [3, 1, 2, 4, 0]]


# ---------------------------------------------------------------- against the naive oracle
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_against_naive_implementation_with_ties(data):
    n = data.draw(st.integers(1, 6))
    n_labels = data.draw(st.integers(1, 7))
    k = data.draw(st.integers(1, n_labels))
    Y = np.array(
        data.draw(
            st.lists(
                st.lists(st.integers(0, 1), min_size=n_labels, max_size=n_labels),
                min_size=n,
                max_size=n,
            )
        )
    )
    # few distinct values: ties everywhere
    S = np.array(
        data.draw(
            st.lists(
                st.lists(st.integers(-2, 2), min_size=n_labels, max_size=n_labels),
                min_size=n,
                max_size=n,
            )
        ),
        dtype=float,
    )
    p = np.array(
        data.draw(
            st.lists(st.sampled_from([0.1, 0.3, 0.5, 1.0]), min_size=n_labels, max_size=n_labels)
        )
    )
    expected = naive_metrics(Y, S, k, p)
    got = (
        precision_at_k(Y, S, k),
        ndcg_at_k(Y, S, k),
        propensity_scored_precision_at_k(Y, S, k, propensities=p),
        propensity_scored_precision_at_k(Y, S, k, propensities=p, normalize=True),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert top_k_labels(S, k).tolist() == [naive_ranking(list(s), k) for s in S]


def test_many_rows_sparse_labels_match_naive():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 40)) < 0.08).astype(int)
    S = np.round(rng.normal(size=(300, 40)), 1)  # ties within rows
    p = propensities(Y)
    for k in (1, 3, 5):
        expected = naive_metrics(Y, S, k, p)
        got = (
            precision_at_k(sp.csr_matrix(Y), S, k),
            ndcg_at_k(sp.csc_matrix(Y), S, k),
            propensity_scored_precision_at_k(Y, S, k, propensities=p),
            propensity_scored_precision_at_k(Y, S, k, propensities=p, normalize=True),
        )
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_psp_with_unit_propensities_is_precision():
    rng = np.random.default_rng(1)
    Y = (rng.random((50, 12)) < 0.2).astype(int)
    S = rng.normal(size=(50, 12))
    for k in (1, 4):
        assert propensity_scored_precision_at_k(Y, S, k, propensities=np.ones(12)) == pytest.approx(
            precision_at_k(Y, S, k), rel=1e-14
        )


def test_perfect_ranking_scores_one():
    rng = np.random.default_rng(2)
    Y = (rng.random((40, 10)) < 0.3).astype(int)
    Y[:, 0] = 1  # every row has a relevant label
    S = Y + 0.01 * rng.random(Y.shape)
    assert ndcg_at_k(Y, S, 5) == pytest.approx(1.0)
    assert propensity_scored_precision_at_k(
        Y, Y / propensities(Y) + 0.0, 3, propensities=propensities(Y), normalize=True
    ) == pytest.approx(1.0)


# ---------------------------------------------------------------- sklearn's ndcg_score
@pytest.mark.parametrize("k", [1, 3, 10])
def test_ndcg_equals_sklearn_for_binary_relevance_without_ties(k):
    rng = np.random.default_rng(3)
    Y = (rng.random((80, 15)) < 0.25).astype(int)
    Y[Y.sum(axis=1) == 0, 0] = 1  # see below for rows without relevant labels
    S = rng.normal(size=Y.shape)  # continuous: no ties
    assert ndcg_at_k(Y, S, k) == pytest.approx(ndcg_score(Y, S, k=k), rel=1e-12)
    assert ndcg_at_k(Y, S, k) == pytest.approx(ndcg_score(Y, S, k=k, ignore_ties=True), rel=1e-12)


def test_ndcg_where_sklearn_differs_ties_are_averaged_there():
    Y = np.array([[0, 1, 0, 0]])
    S = np.array([[1.0, 1.0, 0.0, 0.0]])  # labels 0 and 1 tied at the top
    # ours: label 0 ranks first (smaller index), label 1 second: 1/log2(3)
    assert ndcg_at_k(Y, S, 2) == pytest.approx(1 / math.log2(3))
    # sklearn averages the gain over the tie: (1 + 1/log2(3)) / 2
    assert ndcg_score(Y, S, k=2) == pytest.approx((1 + 1 / math.log2(3)) / 2)
    # a row without relevant labels scores 0 and counts in the mean, in both
    Y, S = [[0, 0, 0], [1, 0, 0]], [[0.3, 0.2, 0.1]] * 2
    assert ndcg_at_k(Y, S, 2) == pytest.approx(0.5) == ndcg_score(Y, S, k=2)


def test_exported_from_package():
    assert xcsvm.precision_at_k is precision_at_k and xcsvm.propensities is propensities
    assert (
        xcsvm.ndcg_at_k is ndcg_at_k
        and xcsvm.propensity_scored_precision_at_k is propensity_scored_precision_at_k
    )


def test_chunked_ranking_equals_unchunked(monkeypatch):
    import xcsvm.metrics as metrics

    rng = np.random.default_rng(4)
    Y = (rng.random((25, 9)) < 0.3).astype(int)
    S = np.round(rng.normal(size=(25, 9)), 1)
    before = (precision_at_k(Y, S, 3), ndcg_at_k(Y, S, 3), top_k_labels(S, 4).tolist())
    monkeypatch.setattr(metrics, "_CHUNK_ENTRIES", 4 * 9)  # 4 rows of 9 labels a chunk
    assert (precision_at_k(Y, S, 3), ndcg_at_k(Y, S, 3), top_k_labels(S, 4).tolist()) == before


# ---------------------------------------------------------------- errors
def test_shape_mismatch():
    with pytest.raises(
        ShapeMismatchError, match=r"scores has shape \(2, 3\) but Y_true has shape \(2, 4\)"
    ):
        precision_at_k(np.zeros((2, 4)), np.zeros((2, 3)))
    with pytest.raises(ShapeMismatchError, match="2-d"):
        ndcg_at_k(np.zeros(4), np.zeros(4))
    with pytest.raises(ShapeMismatchError, match="0 samples"):
        ndcg_at_k(np.zeros((0, 4)), np.zeros((0, 4)))
    with pytest.raises(ShapeMismatchError, match="n_labels=3"):
        propensity_scored_precision_at_k(np.eye(3), np.eye(3), propensities=np.ones(4))
    with pytest.raises(ShapeMismatchError, match="at least 3"):
        propensities(np.eye(2))


@pytest.mark.parametrize("k", [0, -1, 1.0, True, "2"])
def test_bad_k(k):
    with pytest.raises(MetricInputError, match="k must be an integer >= 1"):
        precision_at_k(np.eye(3), np.eye(3), k=k)


def test_k_beyond_labels():
    with pytest.raises(MetricInputError, match="k=4 exceeds the number of labels"):
        ndcg_at_k(np.eye(3), np.eye(3), k=4)


def test_non_binary_labels():
    with pytest.raises(NonBinaryLabelsError, match=r"only 0 and 1.*found 2"):
        precision_at_k(np.array([[2, 0], [0, 1]]), np.eye(2))
    with pytest.raises(NonBinaryLabelsError, match="only 0 and 1"):
        ndcg_at_k(sp.csr_matrix(np.array([[0.5, 0], [0, 1]])), np.eye(2))
    with pytest.raises(NonBinaryLabelsError, match="object"):
        precision_at_k(np.array([[{1}], [{2}]], dtype=object), np.eye(2)[:, :1])
    assert issubclass(NonBinaryLabelsError, ValueError) and issubclass(
        ShapeMismatchError, MetricInputError
    )


def test_bad_scores_and_propensities():
    with pytest.raises(MetricInputError, match="NaN"):
        precision_at_k(np.eye(2), np.array([[np.nan, 0], [0, 1]]))
    with pytest.raises(MetricInputError, match="sparse"):
        precision_at_k(np.eye(2), sp.csr_matrix(np.eye(2)))
    with pytest.raises(MetricInputError, match=r"\(0, 1\]"):
        propensity_scored_precision_at_k(np.eye(2), np.eye(2), propensities=[0.0, 1.0])
    with pytest.raises(MetricInputError, match="A must be a positive"):
        propensities(np.eye(4), A=-1.0)
    # -inf scores are allowed: such labels rank last
    assert precision_at_k([[1, 0]], [[-np.inf, 0.0]], k=1) == 0.0
