"""The real download path (pooch + requests) against a local HTTP server on 127.0.0.1:
success, cached second call, checksum mismatch, 404, truncated transfer, no network,
decompression; and end to end through shared_datasets.load. No test touches the internet."""

import bz2
import hashlib
import socket
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

import shared_datasets
from shared_datasets import remote
from shared_datasets.catalog import DatasetInfo
from shared_datasets.download import RemoteFile, UnverifiedDownloadWarning, fetch_file


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


PAYLOAD = b"0 1:0.5 3:1.5\n1 2:2\n" * 50


def test_success_then_cached_without_request(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    remote_file = RemoteFile(server.url + "/data.txt", _sha(PAYLOAD))
    path = fetch_file(remote_file, tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/data.txt"]
    again = fetch_file(remote_file, tmp_path)
    assert again == path and server.requests == ["/data.txt"]  # served from the cache
    assert _leftovers(tmp_path) == ["data.txt"]


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    wrong = "sha256:" + "0" * 64
    with pytest.raises(shared_datasets.ChecksumMismatchError, match="checksum mismatch"):
        fetch_file(RemoteFile(server.url + "/data.txt", wrong), tmp_path)
    assert _leftovers(tmp_path) == []


def test_cached_file_with_wrong_checksum_is_replaced(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    (tmp_path / "data.txt").write_bytes(b"stale")
    path = fetch_file(RemoteFile(server.url + "/data.txt", _sha(PAYLOAD)), tmp_path)
    assert path.read_bytes() == PAYLOAD and len(server.requests) == 1


def test_http_404_is_a_download_error(server, tmp_path):
    with pytest.raises(shared_datasets.DownloadError, match="404") as info:
        fetch_file(RemoteFile(server.url + "/missing.txt", None), tmp_path)
    assert not isinstance(info.value, shared_datasets.NoNetworkError)
    assert str(tmp_path / "missing.txt") in str(info.value)  # says where to put it by hand
    assert _leftovers(tmp_path) == []


def test_truncated_transfer_leaves_no_partial_file(server, tmp_path):
    server.files["/big.bin"] = (PAYLOAD * 20, "truncated")
    with pytest.raises(shared_datasets.DownloadError):
        fetch_file(RemoteFile(server.url + "/big.bin", None), tmp_path)
    assert _leftovers(tmp_path) == []


def test_no_network_says_where_to_place_the_file(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(shared_datasets.NoNetworkError) as info:
        fetch_file(RemoteFile(f"http://127.0.0.1:{port}/usps.bz2", None, decompress="bz2"), tmp_path)
    message = str(info.value)
    assert str(tmp_path / "usps.bz2") in message and "place it" in message
    assert _leftovers(tmp_path) == []


def test_unverified_download_warns_with_its_sha256(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    with pytest.warns(UnverifiedDownloadWarning, match=hashlib.sha256(PAYLOAD).hexdigest()):
        fetch_file(RemoteFile(server.url + "/data.txt", None), tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cached second call does not warn again
        fetch_file(RemoteFile(server.url + "/data.txt", None), tmp_path)


def test_bz2_is_decompressed_once(server, tmp_path):
    packed = bz2.compress(PAYLOAD)
    server.files["/d.bz2"] = (packed, "ok")
    path = fetch_file(RemoteFile(server.url + "/d.bz2", _sha(packed), decompress="bz2"), tmp_path)
    assert path.name == "d" and path.read_bytes() == PAYLOAD
    assert _leftovers(tmp_path) == ["d", "d.bz2"]


def test_corrupt_bz2_is_removed(server, tmp_path):
    server.files["/d.bz2"] = (b"BZh9 not really bz2", "ok")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.raises(shared_datasets.MalformedDataError, match="decompress"):
            fetch_file(RemoteFile(server.url + "/d.bz2", None, decompress="bz2"), tmp_path)
    assert _leftovers(tmp_path) == []


@pytest.fixture
def fake_remote(server, tmp_path, monkeypatch):
    """A registry entry 'tiny_remote' served by the local server (svmlight, bz2, hashes pinned)."""
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    rng = np.random.default_rng(0)
    X = sp.random(30, 7, density=0.4, random_state=1, format="csr")
    y = rng.integers(0, 3, 30) * 2 + 5  # labels 5, 7, 9 -> 0, 1, 2
    files = {}
    for role, rows in (("train", slice(0, 20)), ("test", slice(20, 30))):
        path = tmp_path / f"src_{role}.svm"
        dump_svmlight_file(X[rows], y[rows], str(path), zero_based=False)
        packed = bz2.compress(path.read_bytes())
        server.files[f"/tiny.{role}.bz2"] = (packed, "ok")
        files[role] = RemoteFile(f"{server.url}/tiny.{role}.bz2", _sha(packed), decompress="bz2")
    info = DatasetInfo("tiny_remote", "remote", "test set", "local", "none", "given", 20, 10, 7, 3, sparse=True)
    monkeypatch.setitem(remote.REMOTE, "tiny_remote", remote.RemoteDataset(info, files))
    monkeypatch.setitem(remote.REMOTE_INFOS, "tiny_remote", info)
    return X, y


def test_load_remote_end_to_end(fake_remote, server, tmp_path):
    X, y = fake_remote
    X_train, y_train, X_test, y_test = shared_datasets.load("tiny_remote")
    assert sp.issparse(X_train) and X_train.shape == (20, 7) and X_test.shape == (10, 7)
    assert np.allclose(X_train.toarray(), X[:20].toarray()) and np.allclose(X_test.toarray(), X[20:].toarray())
    classes = np.unique(y)
    assert np.array_equal(classes[y_train], y[:20]) and np.array_equal(classes[y_test], y[20:])
    n_requests = len(server.requests)
    dense = shared_datasets.load("tiny_remote", as_sparse=False, preprocessing="unit_norm")
    assert len(server.requests) == n_requests  # second load: cache only
    norms = np.linalg.norm(dense[0], axis=1)
    assert np.allclose(norms[norms > 0], 1.0)
    assert (tmp_path / "tiny_remote" / "tiny.train").is_file()


def test_malformed_cached_svmlight_is_named_removed_and_fetched_again(fake_remote, server, tmp_path):
    X, _ = fake_remote
    folder = tmp_path / "tiny_remote"
    folder.mkdir(exist_ok=True)
    (folder / "tiny.train").write_text("5 1:0.5 2:1\n7 3:abc\n")
    (folder / "tiny.test").write_text("5 1:1\n")
    with pytest.warns(shared_datasets.CacheRepairWarning, match=r"tiny\.train:2: .*'3:abc'.*fetching it again"):
        X_train, _, X_test, _ = shared_datasets.load("tiny_remote")
    assert np.allclose(X_train.toarray(), X[:20].toarray()) and X_test.shape == (10, 7)


def test_malformed_download_names_file_and_line_and_is_not_kept(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    server.files["/bad.train"] = (b"5 1:0.5 2:1\n7 3:abc\n", "ok")
    server.files["/bad.test"] = (b"5 1:1\n", "ok")
    files = {role: RemoteFile(f"{server.url}/bad.{role}", None) for role in ("train", "test")}
    info = DatasetInfo("bad_remote", "remote", "test set", "local", "none", "given", 2, 1, 3, 2, sparse=True)
    monkeypatch.setitem(remote.REMOTE, "bad_remote", remote.RemoteDataset(info, files))
    monkeypatch.setitem(remote.REMOTE_INFOS, "bad_remote", info)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.raises(shared_datasets.MalformedDataError, match=r"bad\.train:2: .*'3:abc'.*Removed"):
            shared_datasets.load("bad_remote")
    assert _leftovers(tmp_path / "bad_remote") == []


def test_cli_fetch_downloads_with_progress_bar(fake_remote, server, tmp_path, capsys):
    from shared_datasets.cli import main

    assert main(["fetch", "tiny_remote"]) == 0
    captured = capsys.readouterr()
    assert str(tmp_path / "tiny_remote" / "tiny.train") in captured.out
    assert "%" in captured.err or "B/s" in captured.err  # tqdm's bar goes to stderr
    assert len(server.requests) == 2
    assert main(["fetch", "tiny_remote", "--no-progress"]) == 0 and len(server.requests) == 2


def test_stale_compressed_file_is_replaced_and_decompressed_again(server, tmp_path):
    packed = bz2.compress(PAYLOAD)
    server.files["/d.bz2"] = (packed, "ok")
    (tmp_path / "d.bz2").write_bytes(bz2.compress(b"old"))
    (tmp_path / "d").write_bytes(b"old")
    path = fetch_file(RemoteFile(server.url + "/d.bz2", _sha(packed), decompress="bz2"), tmp_path)
    assert path.read_bytes() == PAYLOAD and len(server.requests) == 1
