"""Model files: npz + JSON metadata, versioned, written atomically, no pickle."""

import json
import os
import zipfile

import numpy as np
import pytest

from conftest import blobs
from xcsvm import CSClassifier, LLWClassifier, WWClassifier, load_model, save_model
from xcsvm.exceptions import ModelFormatError
from xcsvm.io import FORMAT_VERSION, read_model, write_model


@pytest.mark.parametrize("cls", [WWClassifier, LLWClassifier, CSClassifier])
def test_round_trip_keeps_predictions_and_parameters(cls, tmp_path):
    X, y = blobs(90, 5, 3, seed=0)
    labels = np.array(["a", "b", "c"])[y]
    model = cls(C=2.0, random_state=0).fit(X, labels)
    path = save_model(tmp_path / "m.npz", model)
    loaded = load_model(path)
    assert type(loaded) is cls and loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.dual_gap_ == model.dual_gap_ and loaded.n_iter_ == model.n_iter_
    with np.load(path, allow_pickle=False) as archive:  # loadable without pickle
        assert json.loads(str(archive["metadata"]))["format_version"] == FORMAT_VERSION


def test_sparsified_model_round_trip(tmp_path):
    X, y = blobs(90, 5, 3, seed=1)
    model = WWClassifier(random_state=0).fit(X, y)
    expected = model.decision_function(X)
    model.sparsify()
    np.testing.assert_allclose(
        load_model(save_model(tmp_path / "s.npz", model)).decision_function(X), expected
    )


def test_other_format_version_is_rejected(tmp_path):
    path = write_model(
        tmp_path / "m.npz", coef=np.eye(2), intercept=np.zeros(2), classes=[0, 1], formulation="ww"
    )
    with np.load(path) as archive:
        arrays = dict(archive)
    metadata = json.loads(str(arrays["metadata"]))
    metadata["format_version"] = FORMAT_VERSION + 1
    arrays["metadata"] = np.array(json.dumps(metadata))
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ModelFormatError, match="format version 2"):
        load_model(tmp_path / "future.npz")


def test_foreign_files_are_rejected(tmp_path):
    (tmp_path / "text.npz").write_text("not a model")
    with pytest.raises(ModelFormatError, match="not an xcsvm model"):
        read_model(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", weights=np.ones(3))
    with pytest.raises(ModelFormatError, match="metadata"):
        read_model(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError):
        read_model(tmp_path / "missing.npz")


def test_failed_save_leaves_nothing_behind(tmp_path):
    target = tmp_path / "m.npz"
    with pytest.raises(TypeError, match="without pickle"):
        write_model(
            target,
            coef=np.eye(2),
            intercept=np.zeros(2),
            classes=np.array([(1,), 2], dtype=object),
            formulation="ww",
        )
    assert os.listdir(tmp_path) == []
    # an existing model survives a failing overwrite untouched
    write_model(target, coef=np.eye(2), intercept=np.zeros(2), classes=[0, 1], formulation="ww")
    before = target.read_bytes()
    with pytest.raises(ValueError, match="rows"):
        write_model(target, coef=np.eye(3), intercept=np.zeros(2), classes=[0, 1], formulation="ww")
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]
    assert zipfile.is_zipfile(target)


def test_write_model_from_plain_arrays_is_loadable_as_estimator(tmp_path):
    coef = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    path = write_model(
        tmp_path / "plain.npz",
        coef=coef,
        intercept=[0.0, 0.1, 0.0],
        classes=[5, 6, 7],
        formulation="llw",
        params={"C": 3.0, "margin": "thesis"},
        fit_info={"n_iter": 4},
    )
    model = load_model(path)
    assert isinstance(model, LLWClassifier) and model.C == 3.0 and model.n_iter_ == 4
    np.testing.assert_array_equal(
        model.predict(np.array([[2.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])), [5, 6, 7]
    )
