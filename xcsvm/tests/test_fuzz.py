"""Property-based fuzzing of the model-file reader and the svmlight reading path (hypothesis).

Nothing may crash, hang or load a silently wrong model: a mutated file gives either
:class:`~xcsvm.ModelFileError` (:class:`~xcsvm.exceptions.DataFormatError` for data)
or exactly the content it holds (checked against an independent element-by-element
oracle). ``make test`` runs a small derandomised profile (60 examples per target, a
few seconds); the long run is

    cd xcsvm && XCSVM_FUZZ_EXAMPLES=10000 ../.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

(random seeds; ``XCSVM_FUZZ_SEED=<int>`` to reproduce a run).
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import dump_svmlight_file

from xcsvm import ModelFileError, load_model
from xcsvm.cli import read_svmlight
from xcsvm.exceptions import DataFormatError
from xcsvm.io import write_model

EXAMPLES = int(os.environ.get("XCSVM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize="XCSVM_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
if "XCSVM_FUZZ_SEED" in os.environ:
    FUZZ = settings(FUZZ, derandomize=False)
    _seeded = seed(int(os.environ["XCSVM_FUZZ_SEED"]))
else:

    def _seeded(test):
        return test


pytestmark = pytest.mark.timeout(max(120, EXAMPLES // 10))

COEF = np.array(
    [[1.0, 0.0, 0.0, 2.5, 0.0], [0.0, -1.0, 0.0, 0.0, 0.25], [-1.0, 1.0, 0.5, -2.5, -0.25]]
)
INTERCEPT = np.array([0.0, 0.125, -0.125])
CLASSES = np.array([3, 5, 9])
X_PROBE = np.random.RandomState(0).randn(20, 5)


def _original() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = write_model(
            Path(folder) / "m.npz",
            coef=COEF,
            intercept=INTERCEPT,
            classes=CLASSES,
            formulation="ww",
            params={"C": 2.0, "tol": 0.01},
            fit_info={"n_iter": 7, "dual_gap": 0.001},
        )
        return path.read_bytes()


ORIGINAL = _original()
with tempfile.TemporaryDirectory() as _folder:
    (Path(_folder) / "m.npz").write_bytes(ORIGINAL)
    with np.load(Path(_folder) / "m.npz", allow_pickle=False) as _archive:
        ENTRIES = dict(_archive)


def _load(content: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        path.write_bytes(content)
        try:
            return load_model(path)
        except ModelFileError as error:
            assert str(error) and str(path) in str(error)
            return None


def _oracle_coef(data, indices, indptr, n_classes, n_features):
    """Dense coefficients of the file's CSR arrays, element by element, or None if invalid."""
    coef = np.zeros((n_classes, n_features))
    if (
        len(indptr) != n_classes + 1
        or int(indptr[0]) != 0
        or int(indptr[-1]) != len(data)
        or len(indices) != len(data)
    ):
        return None
    for row in range(n_classes):
        start, stop = int(indptr[row]), int(indptr[row + 1])
        if not 0 <= start <= stop <= len(data):
            return None
        previous = -1
        for k in range(start, stop):
            column = int(indices[k])
            if not previous < column < n_features:
                return None
            coef[row, column] = float(data[k])
            previous = column
    return coef


def _assert_is_the_file(model, arrays):
    """A loaded model must be exactly what the file holds, and usable."""
    metadata = json.loads(str(arrays["metadata"]))
    coef = _oracle_coef(
        arrays["coef_data"],
        arrays["coef_indices"],
        arrays["coef_indptr"],
        metadata["n_classes"],
        metadata["n_features"],
    )
    assert coef is not None, "an invalid CSR structure was loaded"
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, arrays["intercept"])
    np.testing.assert_array_equal(model.classes_, arrays["classes"])
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert model.n_features_in_ == metadata["n_features"]
    if model.n_features_in_ == X_PROBE.shape[1]:
        try:
            assert set(model.predict(X_PROBE)) <= set(model.classes_)
        except (
            ValueError
        ) as error:  # a valid model with weights near 1e308: scores overflow, said so
            assert "overflow" in str(error)
            assert np.abs(model.coef_).max() > 1e300 or np.abs(model.intercept_).max() > 1e300


def _assert_is_original(model):
    np.testing.assert_array_equal(model.coef_, COEF)
    np.testing.assert_array_equal(model.intercept_, INTERCEPT)
    np.testing.assert_array_equal(model.classes_, CLASSES)
    assert model.C == 2.0 and model.tol == 0.01 and model.n_iter_ == 7


_byte_edit = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(ORIGINAL))),
    st.tuples(st.just("flip"), st.integers(0, 8 * len(ORIGINAL) - 1)),
    st.tuples(st.just("set"), st.integers(0, len(ORIGINAL) - 1), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, len(ORIGINAL)), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, len(ORIGINAL) - 1), st.integers(1, 64)),
)


def _apply(content: bytearray, edit):
    kind = edit[0]
    if kind == "truncate":
        del content[edit[1] :]
    elif kind == "flip" and edit[1] // 8 < len(content):
        content[edit[1] // 8] ^= 1 << (edit[1] % 8)
    elif kind == "set" and edit[1] < len(content):
        content[edit[1]] = edit[2]
    elif kind == "insert":
        content[edit[1] : edit[1]] = edit[2]
    elif kind == "delete":
        del content[edit[1] : edit[1] + edit[2]]


@_seeded
@FUZZ
@given(edits=st.lists(_byte_edit, min_size=1, max_size=4))
def test_fuzz_damaged_model_bytes(edits):
    content = bytearray(ORIGINAL)
    for edit in edits:
        _apply(content, edit)
    model = _load(bytes(content))
    if model is not None:  # only damage the format does not see (zip timestamps, comments ...)
        _assert_is_original(model)


_dtypes = st.one_of(
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.boolean_dtypes(),
    hnp.unicode_string_dtypes(max_len=4),
    hnp.byte_string_dtypes(max_len=4),
    hnp.complex_number_dtypes(),
)
_arrays = _dtypes.flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=2, max_side=8))
)
_numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True)
)


def _save(arrays) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        np.savez(Path(folder) / "m.npz", **arrays)
        return (Path(folder) / "m.npz").read_bytes()


@_seeded
@FUZZ
@given(
    name=st.sampled_from(sorted(ENTRIES)),
    how=st.sampled_from(["replace", "element", "drop", "extra"]),
    replacement=_arrays,
    position=st.integers(0, 64),
    value=_numbers,
)
def test_fuzz_edited_model_arrays(name, how, replacement, position, value):
    arrays = dict(ENTRIES)
    if how == "replace":
        arrays[name] = replacement
    elif how == "drop":
        arrays.pop(name)
    elif how == "extra":
        arrays["extra_" + name] = replacement
    else:
        target = arrays[name].copy()
        if target.ndim == 1 and target.size:
            try:
                target[position % target.size] = value
            except (OverflowError, ValueError, TypeError):
                return
        arrays[name] = target
    model = _load(_save(arrays))
    if model is not None:
        _assert_is_the_file(model, arrays)


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_METADATA = json.loads(str(ENTRIES["metadata"]))


@_seeded
@FUZZ
@given(
    key=st.sampled_from(
        sorted(_METADATA) + ["params.C", "params.n_jobs", "fit.n_iter", "fit.dual_gap", "new"]
    ),
    value=_json,
    whole=st.one_of(st.none(), st.text(max_size=40), _json.map(json.dumps)),
)
def test_fuzz_edited_model_metadata(key, value, whole):
    metadata = json.loads(json.dumps(_METADATA))
    if "." in key:
        outer, inner = key.split(".")
        metadata[outer][inner] = value
    else:
        metadata[key] = value
    arrays = dict(ENTRIES, metadata=np.array(whole if whole is not None else json.dumps(metadata)))
    model = _load(_save(arrays))
    if model is not None:
        _assert_is_the_file(model, arrays)


# --- svmlight: xcsvm reads it through sklearn's parser (read_svmlight); no writer of its own --


@_seeded
@FUZZ
@given(
    matrix=hnp.arrays(np.int8, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6)),
    labels=st.lists(st.integers(-3, 3), min_size=6, max_size=6),
)
def test_fuzz_svmlight_round_trip(matrix, labels):
    X = matrix.astype(np.float64) / 8.0  # exact in the writer's decimal form
    y = np.array(labels[: X.shape[0]], dtype=np.int64)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.svm"
        dump_svmlight_file(X, y, str(path), zero_based=False)
        read_X, read_y = read_svmlight(path, n_features=X.shape[1])
    np.testing.assert_array_equal(read_X.toarray(), X)
    np.testing.assert_array_equal(read_y, y)
    assert read_y.dtype == np.int64


_VALID_SVMLIGHT = b"1 1:0.5 3:-2\n2 2:1e3 4:7 # comment\n3 qid:2 1:1\n"


@_seeded
@FUZZ
@given(edits=st.lists(_byte_edit, min_size=1, max_size=4), tail=st.binary(max_size=40))
def test_fuzz_damaged_svmlight(edits, tail):
    content = bytearray(_VALID_SVMLIGHT)
    for edit in edits:
        _apply(content, edit if edit[0] != "flip" else ("flip", edit[1] % (8 * len(content) or 1)))
    content += tail
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.svm"
        path.write_bytes(bytes(content))
        try:
            X, y = read_svmlight(path)
        except DataFormatError as error:
            assert str(path) in str(error)
            return
    assert X.shape[0] == y.shape[0] >= 1
    assert X.format == "csr" and X.indices.size == X.data.size
    if X.nnz:
        assert X.indices.min() >= 0 and X.indices.max() < X.shape[1]
