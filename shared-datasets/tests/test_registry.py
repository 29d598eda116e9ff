"""Names, metadata, unknown names, LSHTC's manual placement, and offline files missing."""

import numpy as np
import pytest
import scipy.sparse as sp

import shared_datasets
from shared_datasets import remote


def test_names_of_the_issue_are_registered():
    names = set(shared_datasets.list_datasets())
    expected = {
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "fashion_mnist",
        "mnist5k",
        "letter",
        "satimage",
        "shuttle",
        "dna",
        "glass",
        "vowel",
        "vehicle",
        "lshtc_like",
        "news20",
        "rcv1",
        "sensit",
        "usps",
        "mnist",
        "covtype",
        "a9a",
        "gisette",
        "cifar10",
        "lshtc_small",
        "splice",
    }
    assert expected <= names
    assert set(shared_datasets.list_datasets("offline")) == {
        "digits",
        "iris",
        "wine",
        "breast_cancer",
        "fashion_mnist",
        "mnist5k",
        "letter",
        "satimage",
        "shuttle",
        "dna",
        "glass",
        "vowel",
        "vehicle",
    }


def test_remote_registry_urls_and_hashes():
    for name, dataset in remote.REMOTE.items():
        for role, f in dataset.files.items():
            if role == "how":
                continue
            assert f.url.startswith("https://"), name
            if f.known_hash is not None:
                algorithm, digest = f.known_hash.split(":")
                assert len(digest) == {"sha256": 64, "md5": 32}[algorithm] and f.hash_source
    assert remote.REMOTE["mnist"].files["archive"].known_hash.startswith("sha256:731c5ac6")


def test_unknown_name_lists_valid_names():
    with pytest.raises(
        shared_datasets.UnknownDatasetError, match=r"valid names: .*letter.*"
    ) as info:
        shared_datasets.load("leter")
    assert isinstance(info.value, KeyError)
    with pytest.raises(shared_datasets.UnknownDatasetError):
        shared_datasets.info("leter")


def test_info_class_names():
    meta = shared_datasets.info("satimage")
    assert meta.kind == "offline" and meta.n_classes == len(meta.class_names) == 6
    assert meta.class_names[0] == "red soil"
    assert shared_datasets.info("news20").kind == "remote"


def test_lshtc_requires_manual_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    target = tmp_path / "lshtc" / "lshtc_small"
    with pytest.raises(shared_datasets.ManualDownloadRequiredError) as info:
        shared_datasets.load("lshtc_small")
    assert str(target / "train.txt") in str(info.value) and str(target / "test.txt") in str(
        info.value
    )
    target.mkdir(parents=True)
    (target / "train.txt").write_text("10,12 1:0.5 4:1\n12 2:1\n30 1:1 3:2\n")
    (target / "test.txt").write_text("30 4:1\n10,30 2:0.5\n")
    X_train, y_train, X_test, y_test = shared_datasets.load("lshtc_small")
    assert X_train.shape == (3, 4) and X_test.shape == (2, 4)
    assert y_train.tolist() == [0, 1, 2] and y_test.tolist() == [
        2,
        0,
    ]  # first label, classes 10,12,30
    _, Y_train, _, Y_test = shared_datasets.load("lshtc_small", multilabel="all")
    assert sp.issparse(Y_train) and Y_train.toarray().tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert Y_test.toarray().tolist() == [[0, 0, 1], [1, 0, 1]]


def test_offline_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    monkeypatch.setattr("shared_datasets.offline.mlbench_data_dirs", lambda: [tmp_path / "nowhere"])
    with pytest.raises(
        shared_datasets.OfflineDataMissingError, match=r"install-offline-data\.sh"
    ) as info:
        shared_datasets.load("letter")
    assert "LetterRecognition.rda" in str(info.value) and "r-cran-mlbench" in str(info.value)
    monkeypatch.setattr(
        "shared_datasets.offline.fashion_mnist_dirs", lambda: [tmp_path / "nowhere"]
    )
    with pytest.raises(
        shared_datasets.OfflineDataMissingError, match="apt-get install dataset-fashion-mnist"
    ):
        shared_datasets.fetch("fashion_mnist")


def test_fetch_offline_and_generator_need_nothing():
    assert shared_datasets.fetch("iris") == {} and shared_datasets.fetch("lshtc_like") == {}
    assert np.isfinite(shared_datasets.load("digits")[0]).all()


def test_remote_rejects_unknown_parameters():
    with pytest.raises(shared_datasets.InvalidParameterError, match="progressbar"):
        shared_datasets.load("news20", n_samples=10)
    with pytest.raises(shared_datasets.InvalidParameterError, match="LSHTC"):
        shared_datasets.load("news20", multilabel="all")
