"""Damaged and crafted model files: validated before anything is built, one typed error.

Every case here was a crash (out-of-bounds write), a raw ``BadZipFile`` /
``JSONDecodeError`` / ``KeyError`` / ``IndexError``, or a silently wrong model.
"""

import json
import os
import stat

import numpy as np
import pytest

import xcsvm
from xcsvm import ModelFileError, WWClassifier, load_model, save_model
from xcsvm._atomic import sweep_stale_temporaries
from xcsvm.cli import main
from xcsvm.exceptions import ModelFormatError
from xcsvm.io import write_model

X_SMALL = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [-1.0, -1.0, 1.0]])


def _model(tmp_path):
    return write_model(
        tmp_path / "m.npz",
        coef=np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, -1.0, 0.5]]),
        intercept=[0.0, 0.1, 0.0],
        classes=[5, 6, 7],
        formulation="ww",
        params={"C": 2.0},
        fit_info={"n_iter": 3, "dual_gap": 0.01},
    )


def _edit(path, **changes):
    """Rewrite the archive with some entries replaced (None: removed), metadata as a dict."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["metadata"]))
    for key, value in changes.items():
        if key.startswith("meta_"):
            metadata = value(metadata)
        elif value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    if "metadata" not in changes:
        arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(path, **arrays)
    return path


def test_model_file_error_is_exported_and_a_value_error():
    assert xcsvm.ModelFileError is ModelFileError is ModelFormatError
    assert issubclass(ModelFileError, ValueError)


def test_coef_indices_past_n_features_are_refused_not_written_out_of_bounds(tmp_path):
    # was a segfault: csr_matrix(...).toarray() wrote past the dense array
    path = _edit(_model(tmp_path), coef_indices=np.array([0, 1, 0, 1, 10**9]))
    with pytest.raises(
        ModelFileError, match=r"coef_indices hold column indices in \[0, 1000000000\] outside"
    ):
        load_model(path)
    path = _edit(_model(tmp_path), coef_indices=np.array([0, 1, 0, 1, -3]))
    with pytest.raises(ModelFileError, match="outside"):
        load_model(path)


def test_nan_intercept_or_coefficient_is_refused(tmp_path):
    # was loaded and predicted one class for everything
    path = _edit(_model(tmp_path), intercept=np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ModelFileError, match="intercept holds NaN"):
        load_model(path)
    path = _edit(_model(tmp_path), coef_data=np.array([1.0, 1.0, -1.0, np.inf, 0.5]))
    with pytest.raises(ModelFileError, match="coef_data holds NaN"):
        load_model(path)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"meta_": lambda m: [m]}, "JSON list, not an object"),
        ({"meta_": lambda m: {k: v for k, v in m.items() if k != "n_features"}}, "n_features=None"),
        ({"meta_": lambda m: {**m, "n_classes": "3"}}, "n_classes='3'"),
        ({"meta_": lambda m: {**m, "fit": [1]}}, "'fit' is not a JSON object"),
        ({"meta_": lambda m: {**m, "fit": {"dual_gap": "x"}}}, "dual_gap='x'"),
        ({"meta_": lambda m: {**m, "params": {"C": -1.0}}}, "stored parameters are not valid"),
        ({"meta_": lambda m: {**m, "formulation": "svm"}}, "unknown formulation"),
        ({"intercept": None}, r"lacks the entries \['intercept'\]"),
        ({"coef_indices": np.array([0.0, 1.0, 0.0, 1.0, 2.0])}, "coef_indices is a float64 array"),
        ({"coef_indptr": np.array([0, 2, 1, 5])}, "not a valid row pointer"),
        ({"coef_indptr": np.array([0, 2, 5])}, "expected n_classes"),
        ({"coef_data": np.ones(4)}, "coef_data has 4 entries"),
        ({"intercept": np.zeros((3, 1))}, "intercept is a float64 array of shape"),
        ({"classes": np.array([7, 6, 5])}, "distinct and sorted"),
        ({"classes": np.array([5, 6])}, "classes has 2 labels"),
        ({"coef_indices": np.array([0, 1, 1, 0, 2])}, "not in canonical CSR form"),
        ({"coef_indices": np.array([0, 1, 0, 0, 2])}, "not in canonical CSR form"),
        ({"extra": np.ones(2)}, "unexpected or repeated entries"),
        ({"metadata": np.array([b"x"])}, "not a JSON string"),
        ({"metadata": np.array("{not json")}, "not valid JSON"),
    ],
)
def test_edited_arrays_and_metadata_name_what_is_wrong(tmp_path, change, message):
    path = _edit(_model(tmp_path), **change)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model(path)
    assert "save the model again" in str(caught.value) or "formulation" in str(caught.value)


def test_truncated_and_bit_flipped_files_are_model_file_errors(tmp_path):
    path = _model(tmp_path)
    content = path.read_bytes()
    for cut in (0, 10, len(content) // 2, len(content) - 1):
        (tmp_path / "cut.npz").write_bytes(content[:cut])
        with pytest.raises(ModelFileError, match=r"damaged|not an xcsvm"):
            load_model(tmp_path / "cut.npz")
    flipped = bytearray(content)
    flipped[len(content) // 3] ^= 0x10  # inside an entry's data: the zip CRC catches it
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "flip.npz")


def test_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    import zipfile

    path = _model(tmp_path)
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    header = entries["intercept.npy"]
    entries["intercept.npy"] = header.replace(b"(3,)", b"(10000000000000,)".ljust(len(b"(3,)")), 1)
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="declares shape"):
        load_model(tmp_path / "huge.npz")
    object_array = np.array([{"a": 1}], dtype=object)
    with pytest.raises(ModelFileError, match="not plain data"):
        load_model(_edit(_model(tmp_path), classes=object_array))


def test_valid_file_still_loads_and_predicts(tmp_path):
    model = load_model(_model(tmp_path))
    assert model.C == 2.0 and model.n_iter_ == 3
    np.testing.assert_array_equal(model.predict(X_SMALL), [5, 6, 7])


def test_cli_predict_on_a_damaged_model_is_one_clear_error(tmp_path, capsys):
    from sklearn.datasets import dump_svmlight_file

    dump_svmlight_file(X_SMALL, [5, 6, 7], str(tmp_path / "d.svm"))
    path = _edit(_model(tmp_path), coef_indices=np.array([0, 1, 0, 1, 99]))
    assert main(["predict", str(path), str(tmp_path / "d.svm")]) == 1
    error = capsys.readouterr().err
    assert (
        error.startswith("xcsvm: error:") and "coef_indices" in error and "Traceback" not in error
    )


def test_saved_files_keep_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        path = _model(tmp_path)
        X = np.vstack([X_SMALL, X_SMALL])
        model = WWClassifier(random_state=0).fit(X, [0, 1, 2, 0, 1, 2])
        saved = save_model(tmp_path / "w.npz", model)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # was 0600 (mkstemp)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o640


def test_temporaries_of_an_interrupted_write_are_swept_on_the_next_write(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f".m.npz.xcsvm-{int(dead.stdout)}-abc123.tmp"
    stale.write_bytes(b"half a model")
    running = tmp_path / f".m.npz.xcsvm-{os.getppid()}-def456.tmp"  # a live writer's: kept
    running.write_bytes(b"being written")
    unrelated = tmp_path / ".other.tmp"
    unrelated.write_bytes(b"not ours")
    _model(tmp_path)
    assert not stale.exists() and running.exists() and unrelated.exists()
    assert sweep_stale_temporaries(tmp_path) == []


def test_informational_fit_facts_of_the_mpi_writer_load(tmp_path):
    # the distributed CLI stores converged (bool) and n_ranks besides the numbers load_model uses
    path = write_model(
        tmp_path / "d.npz",
        coef=np.eye(2),
        intercept=np.zeros(2),
        classes=[0, 1],
        formulation="llw",
        fit_info={"n_iter": 4, "dual_gap": 0.5, "converged": True, "n_ranks": 2},
    )
    model = load_model(path)
    assert model.n_iter_ == 4 and model.dual_gap_ == 0.5
