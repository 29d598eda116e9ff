"""The readers of the non-svmlight remote formats, on small files in the real formats
served by the local HTTP server (registry entries re-pointed to 127.0.0.1)."""

import dataclasses
import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest

import shared_datasets
from shared_datasets import remote



def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _repoint(monkeypatch, server, name, blobs):
    """Serve ``blobs[role]`` and point dataset ``name``'s files there, with pinned SHA-256."""
    dataset = remote.REMOTE[name]
    files = {}
    for role, blob in blobs.items():
        original = dataset.files[role]
        server.files[f"/{name}/{role}"] = (blob, "ok")
        files[role] = dataclasses.replace(original, url=f"{server.url}/{name}/{role}", known_hash=_sha(blob),
                                          filename=original.download_name)
    monkeypatch.setitem(remote.REMOTE, name, dataclasses.replace(dataset, files=files))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    return tmp_path


def test_mnist_npz(server, home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6) % 3,
                  x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), y_test=np.array([2, 0]))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    _repoint(monkeypatch, server, "mnist", {"archive": buffer.getvalue()})
    X_train, y_train, X_test, y_test = shared_datasets.load("mnist", progressbar=False)
    assert X_train.shape == (6, 784) and X_train.dtype == np.float32
    assert np.array_equal(X_train[1], arrays["x_train"][1].ravel()) and y_test.tolist() == [2, 0]


def _cifar_tarball(rng):
    buffer = io.BytesIO()
    batches = {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            entry = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, 4))}
            batches[name] = entry
            blob = pickle.dumps(entry)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue(), batches


def test_cifar10_tarball(server, home, monkeypatch):
    blob, batches = _cifar_tarball(np.random.default_rng(1))
    _repoint(monkeypatch, server, "cifar10", {"archive": blob})
    X_train, y_train, X_test, y_test = shared_datasets.load("cifar10", progressbar=False)
    assert X_train.shape == (20, 3072) and X_test.shape == (4, 3072)
    assert np.array_equal(X_train[4], batches["data_batch_2"][b"data"][0])  # batches in order
    assert y_test.tolist() == [int(v) for v in batches["test_batch"][b"labels"]]
    assert (home / "cifar10" / "extracted" / "cifar-10-batches-py" / "test_batch").is_file()


def test_covtype_csv(server, home, monkeypatch):
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(1, 8), 10)
    table = np.column_stack([rng.integers(0, 100, (70, 54)), labels])
    text = "\n".join(",".join(str(v) for v in row) for row in table) + "\n"
    _repoint(monkeypatch, server, "covtype", {"data": gzip.compress(text.encode())})
    X_train, y_train, X_test, y_test = shared_datasets.load("covtype", progressbar=False)
    assert X_train.shape == (63, 54) and X_test.shape == (7, 54)
    assert sorted(y_test.tolist()) == list(range(7))  # stratified; labels 1..7 -> 0..6
    rows = {tuple(r) for r in table[:, :-1].tolist()}
    assert all(tuple(r) in rows for r in X_train.astype(int).tolist())


def test_uci_letter_csv(server, home, monkeypatch):
    rng = np.random.default_rng(3)
    letters = [chr(ord("A") + i % 26) for i in range(16_010)]
    features = rng.integers(0, 16, (16_010, 16))
    text = "".join(f"{c}," + ",".join(map(str, f)) + "\n" for c, f in zip(letters, features))
    _repoint(monkeypatch, server, "letter_uci", {"data": text.encode()})
    X_train, y_train, X_test, y_test = shared_datasets.load("letter_uci", progressbar=False)
    assert X_train.shape == (16_000, 16) and X_test.shape == (10, 16)
    assert y_test.tolist() == [(16_000 + i) % 26 for i in range(10)]
    assert np.array_equal(X_test, features[16_000:])


def test_libsvm_set_without_test_file_gets_seeded_split(server, home, monkeypatch):
    lines = "".join(f"{1 + i % 3} 1:{i / 10} 3:{i % 5}\n" for i in range(150))
    _repoint(monkeypatch, server, "libsvm_iris", {"train": lines.encode()})
    X_train, y_train, X_test, y_test = shared_datasets.load("libsvm_iris", progressbar=False)
    assert X_train.shape == (135, 4) and X_test.shape == (15, 4)  # n_features from the registry
    assert np.bincount(y_test).tolist() == [5, 5, 5]
