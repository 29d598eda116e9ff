"""Multi-label data files: LIBSVM's comma-separated labels and the Extreme Classification
Repository's format, checked against hand-written files, scikit-learn's writer with
MultiLabelBinarizer as the oracle, and every kind of damage an untrusted file can have."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import dump_svmlight_file
from sklearn.preprocessing import MultiLabelBinarizer

from xcsvm.exceptions import DataFormatError
from xcsvm.io import read_svmlight_multilabel, read_xc_repository


def _write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- LIBSVM multi-label
def test_svmlight_multilabel_by_hand(tmp_path):
    path = _write(
        tmp_path, "3,7 1:0.5 4:1\n# a comment line\n7 2:2 # trailing comment\n 1:1.5\n12,3 3:-1\n"
    )
    X, Y, labels = read_svmlight_multilabel(path)
    assert labels.tolist() == [3, 7, 12] and labels.dtype == np.int64
    assert Y.toarray().tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
    assert sp.isspmatrix_csr(X) and sp.isspmatrix_csr(Y) and Y.dtype == np.int64
    assert X.toarray().tolist() == [[0.5, 0, 0, 1], [0, 2, 0, 0], [1.5, 0, 0, 0], [0, 0, -1, 0]]


def test_svmlight_multilabel_against_sklearn_writer(tmp_path):
    rng = np.random.default_rng(0)
    X = sp.random(40, 12, density=0.3, random_state=1, format="csr")
    label_sets = [
        tuple(
            sorted(rng.choice([2, 5, 9, 11, 40], size=rng.integers(0, 4), replace=False).tolist())
        )
        for _ in range(40)
    ]
    binarizer = MultiLabelBinarizer().fit(label_sets)
    indicator = binarizer.transform(label_sets)
    path = tmp_path / "ml.svm"
    # sklearn writes column j of the indicator as label j: map back to the label values
    dump_svmlight_file(X, indicator, str(path), multilabel=True, zero_based=False)
    got_X, Y, columns = read_svmlight_multilabel(path, n_features=12)
    present = indicator.any(axis=0)
    assert columns.tolist() == np.flatnonzero(present).tolist()
    np.testing.assert_array_equal(Y.toarray(), indicator[:, present])
    np.testing.assert_allclose(got_X.toarray(), X.toarray(), rtol=1e-15)


def test_svmlight_multilabel_test_file_uses_training_labels(tmp_path):
    _, _, labels = read_svmlight_multilabel(_write(tmp_path, "1,4 1:1\n2 2:1\n", "train"))
    test = _write(tmp_path, "4,9 1:1\n2 1:1\n", "test")
    with pytest.raises(
        DataFormatError, match=r"sample 1 has label 9, which is not among the 3 given labels"
    ):
        read_svmlight_multilabel(test, labels=labels)
    _, Y, same = read_svmlight_multilabel(test, labels=labels, unknown_labels="ignore")
    assert same.tolist() == [1, 2, 4] and Y.toarray().tolist() == [[0, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match="sorted 1-d array of distinct integers"):
        read_svmlight_multilabel(test, labels=[4, 1])
    with pytest.raises(ValueError, match="unknown_labels"):
        read_svmlight_multilabel(test, unknown_labels="drop")


def test_svmlight_multilabel_width(tmp_path):
    path = _write(tmp_path, "1 1:1 5:2\n2 2:1\n")
    assert read_svmlight_multilabel(path, n_features=8)[0].shape == (2, 8)
    X = read_svmlight_multilabel(path, n_features=3)[
        0
    ]  # as `xcsvm predict`: unseen columns dropped
    assert X.toarray().tolist() == [[1, 0, 0], [0, 1, 0]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("1.5 1:1\n", r"sample 1 has label 1\.5; multi-label labels must be integers"),
        ("1 1:1\n2,2 1:1\n", "sample 2 lists label 2 twice"),
        ("1 1:1\n2 1:nan\n", "sample 2 has a NaN or infinite feature value"),
        ("1 1:inf\n", "sample 1 has a NaN or infinite feature value"),
        ("1 0:1\n", "pass zero_based=True"),
        ("1 2:1 1:1\n", "not a valid multi-label svmlight"),
        ("1 a:1\n", "not a valid multi-label svmlight"),
        ("", "contains no samples"),
        ("1 3000000000:1\n", "feature index too large"),
    ],
)
def test_svmlight_multilabel_damage(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        read_svmlight_multilabel(_write(tmp_path, text))


def test_svmlight_multilabel_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_svmlight_multilabel(tmp_path / "missing.svm")


# ---------------------------------------------------------------- Extreme Classification Repository
def _xc_text(X, label_sets, n_labels):
    lines = [f"{X.shape[0]} {X.shape[1]} {n_labels}"]
    for i, labels in enumerate(label_sets):
        row = X[i]
        features = " ".join(f"{j}:{float(v)!r}" for j, v in zip(row.indices, row.data))
        lines.append(",".join(map(str, labels)) + " " + features)
    return "\n".join(lines) + "\n"


def test_xc_by_hand(tmp_path):
    path = _write(tmp_path, "4 5 3\n0,2 0:0.5 4:1\n1 3:2\n 2:1\n2\n")
    X, Y, labels = read_xc_repository(path)
    assert labels.tolist() == [0, 1, 2] and Y.shape == (4, 3) and X.shape == (4, 5)
    assert Y.toarray().tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert X.toarray().tolist() == [
        [0.5, 0, 0, 0, 1],
        [0, 0, 0, 2, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0],
    ]


def test_xc_random_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    X = sp.random(60, 30, density=0.2, random_state=2, format="csr")
    label_sets = [
        sorted(rng.choice(50, size=rng.integers(0, 5), replace=False).tolist()) for _ in range(60)
    ]
    path = _write(tmp_path, _xc_text(X, label_sets, 50))
    got_X, Y, labels = read_xc_repository(path)
    assert labels.tolist() == list(range(50)) and Y.shape == (
        60,
        50,
    )  # labels never used still get a column
    expected = MultiLabelBinarizer(classes=range(50), sparse_output=True).fit_transform(label_sets)
    assert (expected != Y).nnz == 0
    np.testing.assert_array_equal(got_X.toarray(), X.toarray())


@pytest.mark.parametrize(
    "text, message",
    [
        ("0,1 0:1\n", "first line must be 'n_points n_features n_labels'"),
        ("2 5\n0 0:1\n", "first line must be"),
        ("2 -5 3\n", "first line must be"),
        ("1 0 3\n0 0:1\n", "both must be >= 1"),
        ("3 5 3\n0 0:1\n1 1:1\n", "declares 3 points but the file holds 2"),
        ("1 5 3\n0 0:1\n1 1:1\n", "declares 1 points but the file holds 2"),
        ("1 5 3\n0 5:1\n", "feature index is >= n_features=5"),
        ("1 5 3\n3 0:1\n", r"label 3, outside \[0, 3\)"),
        ("1 5 3\n-1 0:1\n", r"label -1, outside \[0, 3\)"),
        ("1 5 3\n1,1 0:1\n", "lists label 1 twice"),
        ("1 5 3\n1 0:nan\n", "NaN or infinite"),
        ("1 5 3\n1 0:1 0:2\n", "not a valid Extreme Classification Repository file"),
        ("1 5 3\n1 -1:2\n", "not a valid Extreme Classification Repository file"),
    ],
)
def test_xc_damage(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        read_xc_repository(_write(tmp_path, text))


def test_xc_header_line_must_end_within_256_bytes(tmp_path):
    with pytest.raises(DataFormatError, match="first line must be"):
        read_xc_repository(_write(tmp_path, "1 5 3" + " " * 251 + "4\n0 0:1\n"))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_fuzz_damaged_files_are_read_consistently_or_refused(tmp_path, data):
    """Bit flips, truncation and inserted bytes in both formats: shapes agree with the
    header (XC) and values are finite 0/1 labels, or DataFormatError; nothing else."""
    fmt = data.draw(st.sampled_from(["xc", "svmlight"]))
    blob = bytearray(
        b"3 6 4\n0,3 0:1 5:0.5\n2 1:1\n 4:2\n" if fmt == "xc" else b"3,7 1:0.5 4:1\n7 2:2\n 1:1\n"
    )
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        if action == "flip" and blob:
            blob[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=6))
    path = tmp_path / "fuzz.txt"
    path.write_bytes(bytes(blob))
    try:
        X, Y, labels = read_xc_repository(path) if fmt == "xc" else read_svmlight_multilabel(path)
    except DataFormatError:
        return
    assert X.shape[0] == Y.shape[0] and Y.shape[1] == labels.size
    assert np.isfinite(X.data).all() and set(np.unique(Y.data).tolist()) <= {1}
