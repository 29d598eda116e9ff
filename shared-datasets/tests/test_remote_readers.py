"""The readers of the non-svmlight remote formats, on small files in the real formats
served by the local HTTP server (registry entries re-pointed to 127.0.0.1)."""

import dataclasses
import gzip
import hashlib
import io
import tarfile

import numpy as np
import pytest

import shared_datasets
from cifar_pickles import cifar_batch_stream  # tests/ is on sys.path (no package)
from shared_datasets import remote
from shared_datasets.cifar import read_cifar10_batch


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _repoint(monkeypatch, server, name, blobs, *, rows=None):
    """Serve ``blobs[role]`` and point dataset ``name``'s files there, with pinned SHA-256;
    ``rows=(n_train, n_test)`` records the fake's sizes in the registry."""
    dataset = remote.REMOTE[name]
    if rows is not None:
        dataset = dataclasses.replace(
            dataset, info=dataclasses.replace(dataset.info, n_train=rows[0], n_test=rows[1])
        )
    files = {}
    for role, blob in blobs.items():
        original = dataset.files[role]
        server.files[f"/{name}/{role}"] = (blob, "ok")
        files[role] = dataclasses.replace(
            original,
            url=f"{server.url}/{name}/{role}",
            known_hash=_sha(blob),
            filename=original.download_name,
        )
    monkeypatch.setitem(remote.REMOTE, name, dataclasses.replace(dataset, files=files))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    return tmp_path


def test_mnist_npz(server, home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = dict(
        x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_train=np.arange(6) % 3,
        x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        y_test=np.array([2, 0]),
    )
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    _repoint(monkeypatch, server, "mnist", {"archive": buffer.getvalue()}, rows=(6, 2))
    X_train, y_train, X_test, y_test = shared_datasets.load("mnist", progressbar=False)
    assert X_train.shape == (6, 784) and X_train.dtype == np.float32
    assert np.array_equal(X_train[1], arrays["x_train"][1].ravel()) and y_test.tolist() == [2, 0]


def _cifar_tarball(rng, rows=4, streams=None):
    buffer = io.BytesIO()
    batches = {}
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            entry = {
                b"data": rng.integers(0, 256, (rows, 3072), dtype=np.uint8),
                b"labels": [int(v) for v in rng.integers(0, 10, rows)],
            }
            batches[name] = entry
            blob = (streams or {}).get(name) or cifar_batch_stream(
                entry[b"data"], entry[b"labels"], name
            )
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue(), batches


def test_cifar10_tarball_read_without_unpickling(server, home, monkeypatch):
    blob, batches = _cifar_tarball(np.random.default_rng(1))
    _repoint(monkeypatch, server, "cifar10", {"archive": blob}, rows=(20, 4))
    (home / "cifar10" / "extracted").mkdir(parents=True)  # left by 0.1.0: removed, never read
    X_train, y_train, X_test, y_test = shared_datasets.load("cifar10", progressbar=False)
    assert X_train.shape == (20, 3072) and X_test.shape == (4, 3072) and X_train.dtype == np.float32
    assert np.array_equal(X_train[4], batches["data_batch_2"][b"data"][0])  # batches in order
    assert np.array_equal(X_test, batches["test_batch"][b"data"])
    assert y_train.tolist() == [
        label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]
    ]
    assert y_test.tolist() == batches["test_batch"][b"labels"]
    assert sorted(p.name for p in (home / "cifar10").iterdir()) == ["cifar-10-python.tar.gz"]


def test_cifar10_archive_with_a_code_running_batch_is_refused(server, home, monkeypatch):
    evil = b"\x80\x02ccifar_pickles\nmark_called\n)R."  # mark_called() if unpickled
    blob, _ = _cifar_tarball(np.random.default_rng(1), streams={"data_batch_3": evil})
    _repoint(monkeypatch, server, "cifar10", {"archive": blob}, rows=(20, 4))
    with pytest.raises(
        shared_datasets.MalformedDataError,
        match=r"data_batch_3: not a CIFAR-10 batch "
        r"\(the stream names cifar_pickles\.mark_called",
    ):
        shared_datasets.load("cifar10", progressbar=False)
    import cifar_pickles

    assert cifar_pickles.CALLED == []
    assert (
        not (home / "cifar10").exists() or list((home / "cifar10").iterdir()) == []
    )  # nothing kept


def test_cifar10_batch_parser_accepts_only_the_known_structure():
    rng = np.random.default_rng(2)
    data, labels = rng.integers(0, 256, (3, 3072), dtype=np.uint8), [0, 9, 4]
    X, y = read_cifar10_batch(cifar_batch_stream(data, labels, "b"), rows=3)
    assert np.array_equal(X, data) and y.tolist() == labels and X.dtype == np.uint8
    refused = {
        "wrong rows": (cifar_batch_stream(data, labels, "b"), 4),
        "label 10": (cifar_batch_stream(data, [0, 10, 4], "b"), 3),
        "truncated": (cifar_batch_stream(data, labels, "b")[:-100], 3),
        "extra key": (cifar_batch_stream(data, labels, "b", extra_key=True), 3),
        "int16 dtype": (cifar_batch_stream(data, labels, "b", dtype=b"i2"), 3),
        "protocol 4": (b"\x80\x04}.", 3),
        "builtins.eval": (b"\x80\x02c__builtin__\neval\n(U\x041+1tR.", 3),
        "empty": (b"", 3),
    }
    for case, (stream, rows) in refused.items():
        # pytest.fail names the case that was read instead of refused.
        with pytest.raises(shared_datasets.MalformedDataError, match="not a CIFAR-10 batch"):  # noqa: PT012
            read_cifar10_batch(stream, rows=rows)
            pytest.fail(case)


def test_covtype_csv(server, home, monkeypatch):
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(1, 8), 10)
    table = np.column_stack([rng.integers(0, 100, (70, 54)), labels])
    text = "\n".join(",".join(str(v) for v in row) for row in table) + "\n"
    _repoint(monkeypatch, server, "covtype", {"data": gzip.compress(text.encode())}, rows=(63, 7))
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
    _repoint(monkeypatch, server, "letter_uci", {"data": text.encode()}, rows=(16_000, 10))
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
