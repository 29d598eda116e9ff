"""Statistics of the LSHTC-like generator and the identities of the signal/distractor toy."""

import numpy as np
import pytest
import scipy.sparse as sp

import shared_datasets
from shared_datasets import make_lshtc_like, make_signal_distractor
from shared_datasets.synthetic import power_law_class_probabilities


@pytest.fixture(scope="module")
def default_data():
    return make_lshtc_like(n_samples=25_000, n_features=50_000, n_classes=1_000, random_state=0)


def test_shape_format_and_unit_rows(default_data):
    X, y = default_data
    assert sp.isspmatrix_csr(X) and X.shape == (25_000, 50_000) and X.dtype == np.float64
    assert X.has_sorted_indices and X.has_canonical_format
    assert (X.data > 0).all()  # TF-IDF weights of present words, no explicit zeros
    assert np.allclose(sp.linalg.norm(X, axis=1), 1.0, atol=1e-12)
    assert y.dtype == np.int64 and np.array_equal(np.unique(y), np.arange(1_000))


def test_tens_of_nonzeros_per_row(default_data):
    X, _ = default_data
    nnz = np.diff(X.indptr)
    # 60 tokens on average, fewer distinct words after merging repeats
    assert 35 < nnz.mean() < 60
    assert nnz.min() >= 1 and nnz.max() < 150


def test_class_sizes_follow_the_power_law(default_data):
    _, y = default_data
    counts = np.bincount(y, minlength=1_000)
    # one guaranteed document per class + multinomial(n - K, Zipf prior)
    expected = 1 + (25_000 - 1_000) * power_law_class_probabilities(1_000, 1.0)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)
    # log-log slope of size against rank over the head of the distribution is -exponent
    ranks = np.arange(1, 101)
    slope = np.polyfit(np.log(ranks), np.log(np.sort(counts)[::-1][:100]), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.1)


@pytest.mark.parametrize("exponent", [0.0, 1.5])
def test_class_size_exponent(exponent):
    _, y = make_lshtc_like(
        n_samples=20_000,
        n_features=2_000,
        n_classes=50,
        class_size_exponent=exponent,
        random_state=3,
    )
    counts = np.sort(np.bincount(y))[::-1]
    slope = np.polyfit(np.log(np.arange(1, 21)), np.log(counts[:20]), 1)[0]
    assert slope == pytest.approx(-exponent, abs=0.12)


def test_seeded_and_deterministic():
    a = make_lshtc_like(n_samples=3_000, n_features=4_000, n_classes=30, random_state=7)
    b = make_lshtc_like(n_samples=3_000, n_features=4_000, n_classes=30, random_state=7)
    c = make_lshtc_like(n_samples=3_000, n_features=4_000, n_classes=30, random_state=8)
    assert np.array_equal(a[1], b[1]) and (a[0] != b[0]).nnz == 0
    assert not np.array_equal(a[1], c[1])


def _nearest_centroid_accuracy(X, y):
    Y = sp.csr_matrix((np.ones_like(y, dtype=float), (np.arange(len(y)), y)))
    centroids = Y.T @ X
    scores = (X @ centroids.T).toarray()
    return (scores.argmax(axis=1) == y).mean()


def test_topic_words_make_labels_predictable():
    kwargs = dict(n_samples=3_000, n_features=5_000, n_classes=20, random_state=0)
    X, y = make_lshtc_like(topic_fraction=0.5, **kwargs)
    X0, y0 = make_lshtc_like(topic_fraction=0.0, **kwargs)
    assert _nearest_centroid_accuracy(X, y) > 0.9
    # without class-specific words only the class prior is learnable
    assert _nearest_centroid_accuracy(X0, y0) < 0.5


def _classes_per_word(X, y):
    """For every column that occurs: in how many distinct classes' documents it occurs."""
    coo = X.tocoo()
    pairs = np.unique(np.stack([coo.col, y[coo.row]]), axis=1)
    return np.bincount(pairs[0])[np.unique(coo.col)]


def test_background_size_restricts_shared_words_to_the_head():
    kwargs = dict(n_samples=3_000, n_features=5_000, n_classes=20, random_state=0)
    # Without topic words every token is a background word: only background_size columns occur.
    X, _ = make_lshtc_like(topic_fraction=0.0, background_size=300, **kwargs)
    assert 0 < np.unique(X.indices).size <= 300
    X_all, _ = make_lshtc_like(topic_fraction=0.0, **kwargs)
    assert np.unique(X_all.indices).size > 1_000
    # background_size=None is the whole vocabulary, bit for bit.
    X_n, y_n = make_lshtc_like(topic_fraction=0.3, **kwargs)
    X_d, y_d = make_lshtc_like(topic_fraction=0.3, background_size=5_000, **kwargs)
    assert (X_n != X_d).nnz == 0 and np.array_equal(y_n, y_d)
    # With a small background the vocabulary's tail is topical: a word outside the
    # background occurs in the documents of few classes (its topic's and overlapping ones).
    X_t, y_t = make_lshtc_like(topic_fraction=0.5, topic_size=200, background_size=500, **kwargs)
    X_u, y_u = make_lshtc_like(topic_fraction=0.5, topic_size=200, **kwargs)
    assert np.median(_classes_per_word(X_t, y_t)) <= 2 < np.median(_classes_per_word(X_u, y_u))


def test_float32_and_load_split():
    X, _ = make_lshtc_like(n_samples=500, n_features=1_000, n_classes=10, dtype=np.float32)
    assert X.dtype == np.float32
    X_train, y_train, X_test, y_test = shared_datasets.load(
        "lshtc_like", n_samples=1_000, n_features=2_000, n_classes=10, random_state=1
    )
    assert X_train.shape == (900, 2_000) and X_test.shape == (100, 2_000)
    assert sp.issparse(X_train)


@pytest.mark.parametrize(
    "bad",
    [
        dict(n_samples=5, n_classes=10),
        dict(n_features=0),
        dict(topic_fraction=1.5),
        dict(class_size_exponent=-1.0),
        dict(n_classes=1),
        dict(dtype=np.int32),
        dict(tokens_per_document=0.5),
        dict(background_size=0),
        dict(background_size=101),
        dict(background_size=2.5),
    ],
)
def test_invalid_parameters(bad):
    with pytest.raises(shared_datasets.InvalidParameterError):
        make_lshtc_like(**{"n_samples": 100, "n_features": 100, "n_classes": 5, **bad})


def test_unknown_generator_keyword():
    with pytest.raises(shared_datasets.InvalidParameterError, match="make_lshtc_like"):
        shared_datasets.load("lshtc_like", n_rows=10)


def test_signal_distractor_filter_recovers_y():
    X, y, signal, distractor = make_signal_distractor(
        500, distractor_mean=0.3, return_components=True
    )
    assert np.allclose(X, signal + distractor)
    assert np.allclose(signal, y[:, None] * np.array([1.0, 0.0]))
    assert np.allclose(distractor[:, 0], distractor[:, 1])  # along a_d = (1, 1)
    # w = (1, -1): w^T a_s = 1, w^T a_d = 0 (Section II.1.3.1)
    assert np.allclose(X @ np.array([1.0, -1.0]), y)
    # least squares finds exactly this filter, not the signal direction a_s
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert np.allclose(w, [1.0, -1.0])
    assert y.min() >= -1.0 and y.max() <= 1.0


def test_signal_distractor_other_directions():
    a_s, a_d = np.array([2.0, 1.0]), np.array([-1.0, 3.0])
    X, y = make_signal_distractor(
        300, signal_direction=a_s, distractor_direction=a_d, random_state=2
    )
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert w @ a_d == pytest.approx(0.0, abs=1e-9) and w @ a_s == pytest.approx(1.0)
    with pytest.raises(shared_datasets.InvalidParameterError, match="independent"):
        make_signal_distractor(10, signal_direction=(1, 1), distractor_direction=(2, 2))


def test_signal_distractor_through_load():
    X_train, y_train, X_test, y_test = shared_datasets.load("signal_distractor", n_samples=200)
    assert X_train.shape == (180, 2) and y_test.dtype == np.float64
    assert np.allclose(X_test @ np.array([1.0, -1.0]), y_test)


def test_shape_of_table_iii2():
    X_train, y_train, X_test, y_test = shared_datasets.load("lshtc_like", shape_of="lshtc_small")
    assert X_train.shape == (4_463, 51_033) and X_test.shape == (1_858, 51_033)
    assert len(np.unique(np.concatenate([y_train, y_test]))) == 1_139
    with pytest.raises(shared_datasets.InvalidParameterError, match="shape_of"):
        shared_datasets.load("lshtc_like", shape_of="lshtc_small", n_samples=10)
