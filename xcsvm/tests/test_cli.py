"""The xcsvm command: train, predict, evaluate, --distributed delegation, errors."""

import json
import sys

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file
from sklearn.metrics import f1_score

from conftest import blobs
from xcsvm import load_model
from xcsvm.cli import main


@pytest.fixture
def files(tmp_path):
    X, y = blobs(200, 6, 4, seed=0)
    dump_svmlight_file(X[:150], y[:150] + 1, str(tmp_path / "train.svm"), zero_based=False)
    dump_svmlight_file(X[150:], y[150:] + 1, str(tmp_path / "test.svm"), zero_based=False)
    return tmp_path, X, y + 1


def test_train_predict_evaluate(files, capsys):
    folder, X, y = files
    model_file = folder / "m.npz"
    assert (
        main(
            [
                "train",
                "-f",
                "cs",
                "-C",
                "2",
                "--random-state",
                "0",
                str(folder / "train.svm"),
                str(model_file),
            ]
        )
        == 0
    )
    model = load_model(model_file)
    assert model.C == 2.0 and model.classes_.tolist() == [1, 2, 3, 4]
    assert (
        main(["predict", str(model_file), str(folder / "test.svm"), "-o", str(folder / "p.txt")])
        == 0
    )
    predicted = np.loadtxt(folder / "p.txt", dtype=int)
    np.testing.assert_array_equal(predicted, model.predict(X[150:]))
    capsys.readouterr()
    assert main(["evaluate", str(model_file), str(folder / "test.svm"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["error"] == pytest.approx(100 * np.mean(predicted != y[150:]))
    assert metrics["macro_f1"] == pytest.approx(100 * f1_score(y[150:], predicted, average="macro"))
    assert metrics["micro_f1"] == pytest.approx(100 - metrics["error"])
    assert metrics["density"] == pytest.approx(
        100 * np.count_nonzero(model.coef_) / model.coef_.size
    )
    assert main(["evaluate", str(model_file), str(folder / "test.svm")]) == 0
    assert "macro-F1" in capsys.readouterr().out


def test_evaluate_rejects_unseen_labels(files, capsys):
    folder, X, y = files
    main(["train", str(folder / "train.svm"), str(folder / "m.npz")])
    dump_svmlight_file(X[:10], np.full(10, 9), str(folder / "odd.svm"), zero_based=False)
    assert main(["evaluate", str(folder / "m.npz"), str(str(folder / "odd.svm"))]) == 1
    assert "labels the model was not trained on: [9]" in capsys.readouterr().err


def test_malformed_svmlight_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "bad.svm").write_text("1 1:0.5 2:abc\n2 1:0.1\n")
    assert main(["train", str(tmp_path / "bad.svm"), str(tmp_path / "m.npz")]) == 1
    assert "not a valid svmlight" in capsys.readouterr().err
    assert not (tmp_path / "m.npz").exists()


def test_model_of_another_version_is_a_clear_error(files, capsys):
    folder, _, _ = files
    np.savez(
        folder / "old.npz",
        metadata=np.array(json.dumps({"format": "xcsvm-model", "format_version": 0})),
    )
    assert main(["evaluate", str(folder / "old.npz"), str(folder / "test.svm")]) == 1
    assert "format version 0" in capsys.readouterr().err


def test_distributed_without_the_mpi_module_says_so(files, monkeypatch, capsys):
    folder, _, _ = files
    monkeypatch.setitem(sys.modules, "xcsvm.distributed.cli", None)
    assert (
        main(["train", "--distributed", str(folder / "train.svm"), "-m", str(folder / "m.npz")])
        == 2
    )
    assert "--distributed needs xcsvm.distributed" in capsys.readouterr().err


def test_distributed_delegates_to_the_mpi_trainer(files, monkeypatch):
    folder, _, _ = files
    calls = []
    import xcsvm.distributed.cli as distributed_cli

    monkeypatch.setattr(distributed_cli, "train", lambda args: calls.append(args))
    assert (
        main(
            [
                "train",
                "--distributed",
                str(folder / "train.svm"),
                "-m",
                str(folder / "m.npz"),
                "-C",
                "3",
            ]
        )
        == 0
    )
    assert calls[0].C == 3.0 and calls[0].model == str(folder / "m.npz")
