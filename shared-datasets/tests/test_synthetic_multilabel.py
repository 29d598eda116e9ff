"""make_lshtc_multilabel: label sets are exactly leaf + ancestors (hierarchy) or Zipf draws,
every label occurs, frequencies follow the prior, features come from the labels' topics."""

import numpy as np
import pytest
import scipy.sparse as sp

import shared_datasets
from shared_datasets import make_lshtc_multilabel
from shared_datasets.synthetic import power_law_class_probabilities
from shared_datasets.synthetic_multilabel import hierarchy_parents


@pytest.fixture(scope="module")
def hierarchy_data():
    return make_lshtc_multilabel(
        n_samples=6_000,
        n_features=8_000,
        n_labels=300,
        branching=5,
        return_hierarchy=True,
        random_state=1,
    )


def test_hierarchy_parents_by_hand():
    # branching 3: top 0,1,2; children of 0: 3,4,5; of 1: 6,7,8; of 2: 9,10,11; of 3: 12..
    assert hierarchy_parents(13, 3).tolist() == [-1, -1, -1, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3]


def test_label_sets_are_a_leaf_and_its_ancestors(hierarchy_data):
    X, Y, parents = hierarchy_data
    assert np.array_equal(parents, hierarchy_parents(300, 5))
    has_child = np.zeros(300, dtype=bool)
    has_child[parents[parents >= 0]] = True
    for i in range(0, 6_000, 7):
        labels = Y.indices[Y.indptr[i] : Y.indptr[i + 1]]
        leaves = labels[~has_child[labels]]
        assert leaves.size == 1  # exactly one leaf
        chain = [int(leaves[0])]
        while parents[chain[-1]] >= 0:
            chain.append(int(parents[chain[-1]]))
        assert sorted(chain) == labels.tolist()  # the leaf and exactly its ancestors


def test_hierarchy_format_coverage_and_leaf_frequencies(hierarchy_data):
    X, Y, parents = hierarchy_data
    assert sp.isspmatrix_csr(X) and sp.isspmatrix_csr(Y) and Y.dtype == np.int64
    assert X.shape == (6_000, 8_000) and Y.shape == (6_000, 300)
    assert Y.has_sorted_indices and set(np.unique(Y.data).tolist()) == {1}
    assert np.allclose(sp.linalg.norm(X, axis=1), 1.0) and X.has_canonical_format
    counts = np.asarray(Y.sum(axis=0)).ravel()
    assert counts.min() >= 1  # every label occurs
    # a parent occurs in exactly the documents of its children's subtrees
    for label in (0, 3, 17):
        children = np.flatnonzero(parents == label)
        has_child = np.zeros(300, dtype=bool)
        has_child[parents[parents >= 0]] = True
        if children.size:
            covered = (Y[:, children].sum(axis=1) > 0).A.ravel()
            assert np.array_equal(covered, Y[:, label].toarray().ravel() == 1)
    # leaves: one guaranteed document each + multinomial(n - n_leaves, Zipf prior)
    leaves = np.flatnonzero(~np.isin(np.arange(300), parents))
    expected = 1 + (6_000 - leaves.size) * power_law_class_probabilities(leaves.size, 1.0)
    assert np.all(np.abs(counts[leaves] - expected) < 5 * np.sqrt(expected) + 1)


def test_features_come_from_the_topics_of_the_labels():
    # topic_fraction=1: every word is a topic word of one of the document's labels, so all
    # documents with one label set together use at most |set| * topic_size distinct words
    X, Y = make_lshtc_multilabel(
        n_samples=800,
        n_features=5_000,
        n_labels=30,
        branching=3,
        topic_size=7,
        topic_fraction=1.0,
        random_state=2,
    )
    keys = [tuple(Y.indices[Y.indptr[i] : Y.indptr[i + 1]]) for i in range(800)]
    by_set = {}
    for i, key in enumerate(keys):
        by_set.setdefault(key, set()).update(X.indices[X.indptr[i] : X.indptr[i + 1]].tolist())
    assert all(len(words) <= 7 * len(key) for key, words in by_set.items())
    assert max(len(words) for words in by_set.values()) > 7  # more than one label's topic used


def test_zipf_co_labels():
    n, K = 20_000, 60
    X, Y = make_lshtc_multilabel(
        n_samples=n,
        n_features=3_000,
        n_labels=K,
        label_structure="zipf",
        mean_labels=3.0,
        random_state=3,
    )
    counts = np.asarray(Y.sum(axis=0)).ravel()
    assert counts.min() >= 1 and Y.shape == (n, K)
    sizes = np.diff(Y.indptr)
    assert sizes.min() >= 1 and 2.5 < sizes.mean() <= 3.0  # repeats merged: a little below 3
    # each draw of label k has probability prior_k: one primary + about 2 co-labels per document
    prior = power_law_class_probabilities(K, 1.0)
    head = np.arange(20, K)  # labels rarely drawn twice in one document
    expected = 1 + (n - K) * prior[head] + n * 2.0 * prior[head]
    assert np.all(np.abs(counts[head] - expected) < 5 * np.sqrt(expected) + 2)


def test_seeded_and_dtype():
    a = make_lshtc_multilabel(300, 1_000, 20, branching=3, random_state=5, dtype=np.float32)
    b = make_lshtc_multilabel(
        300, 1_000, 20, branching=3, random_state=np.random.default_rng(5), dtype=np.float32
    )
    c = make_lshtc_multilabel(300, 1_000, 20, branching=3, random_state=6)
    assert a[0].dtype == np.float32
    assert (a[0] != b[0]).nnz == 0 and (a[1] != b[1]).nnz == 0
    assert (a[1] != c[1]).nnz > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label_structure="tree"), r"label_structure must be one of \('hierarchy', 'zipf'\)"),
        (dict(branching=1), "branching must be an integer >= 2"),
        (dict(label_structure="zipf", mean_labels=0.5), r"mean_labels must lie in \[1.0, 40.0\]"),
        (dict(label_structure="zipf", return_hierarchy=True), "needs label_structure='hierarchy'"),
        (
            dict(n_samples=10),
            r"n_samples=10 < 31 leaves",
        ),  # labels 0..8 have children (4(p+1) < 40)
        (dict(label_structure="zipf", n_samples=10), "every label needs a document"),
        (dict(n_labels=1), "n_labels must be an integer >= 2"),
        (dict(topic_size=5_000), "topic_size=5000 exceeds n_features=2000"),
        (dict(dtype=np.int32), "dtype must be float32 or float64"),
        (dict(return_hierarchy="yes"), "return_hierarchy must be True or False"),
    ],
)
def test_invalid_parameters(kwargs, message):
    params = dict(n_samples=500, n_features=2_000, n_labels=40, branching=4) | kwargs
    with pytest.raises(shared_datasets.InvalidParameterError, match=message):
        make_lshtc_multilabel(**params)


def test_load_splits_label_sets_90_10():
    X_train, Y_train, X_test, Y_test = shared_datasets.load(
        "lshtc_multilabel", n_samples=400, n_features=1_500, n_labels=20, branching=3
    )
    X, Y = make_lshtc_multilabel(n_samples=400, n_features=1_500, n_labels=20, branching=3)
    assert X_train.shape == (360, 1_500) and Y_train.shape == (360, 20) and Y_test.shape == (40, 20)
    assert (
        sp.isspmatrix_csr(Y_test) and shared_datasets.info("lshtc_multilabel").kind == "generator"
    )
    # the rows are those of the generator, shuffled together with their label sets
    rows = {X[i].indices.tobytes() + X[i].data.tobytes(): tuple(Y[i].indices) for i in range(400)}
    for i in range(40):
        assert rows[X_test[i].indices.tobytes() + X_test[i].data.tobytes()] == tuple(
            Y_test[i].indices
        )
    with pytest.raises(shared_datasets.InvalidParameterError, match="return_hierarchy=True"):
        shared_datasets.load("lshtc_multilabel", return_hierarchy=True)
    with pytest.raises(
        shared_datasets.InvalidParameterError, match="shape_of applies to lshtc_like"
    ):
        shared_datasets.load("lshtc_multilabel", shape_of="lshtc_small")
