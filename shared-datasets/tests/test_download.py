"""The real download path (pooch + requests) against a local HTTP server on 127.0.0.1:
success, cached second call, checksum mismatch, 404, truncated transfer, no network,
decompression; and end to end through shared_datasets.load. No test touches the internet."""

import bz2
import hashlib
import os
import socket
import stat
import time
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
        fetch_file(
            RemoteFile(f"http://127.0.0.1:{port}/usps.bz2", None, decompress="bz2"), tmp_path
        )
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
    info = DatasetInfo(
        "tiny_remote", "remote", "test set", "local", "none", "given", 20, 10, 7, 3, sparse=True
    )
    monkeypatch.setitem(remote.REMOTE, "tiny_remote", remote.RemoteDataset(info, files))
    monkeypatch.setitem(remote.REMOTE_INFOS, "tiny_remote", info)
    return X, y


def test_load_remote_end_to_end(fake_remote, server, tmp_path):
    X, y = fake_remote
    X_train, y_train, X_test, y_test = shared_datasets.load("tiny_remote")
    assert sp.issparse(X_train) and X_train.shape == (20, 7) and X_test.shape == (10, 7)
    assert np.allclose(X_train.toarray(), X[:20].toarray()) and np.allclose(
        X_test.toarray(), X[20:].toarray()
    )
    classes = np.unique(y)
    assert np.array_equal(classes[y_train], y[:20]) and np.array_equal(classes[y_test], y[20:])
    n_requests = len(server.requests)
    dense = shared_datasets.load("tiny_remote", as_sparse=False, preprocessing="unit_norm")
    assert len(server.requests) == n_requests  # second load: cache only
    norms = np.linalg.norm(dense[0], axis=1)
    assert np.allclose(norms[norms > 0], 1.0)
    assert (tmp_path / "tiny_remote" / "tiny.train").is_file()


def test_malformed_cached_svmlight_is_named_removed_and_fetched_again(
    fake_remote, server, tmp_path
):
    X, _ = fake_remote
    folder = tmp_path / "tiny_remote"
    folder.mkdir(exist_ok=True)
    (folder / "tiny.train").write_text("5 1:0.5 2:1\n7 3:abc\n")
    (folder / "tiny.test").write_text("5 1:1\n")
    with pytest.warns(
        shared_datasets.CacheRepairWarning, match=r"tiny\.train:2: .*'3:abc'.*fetching it again"
    ):
        X_train, _, X_test, _ = shared_datasets.load("tiny_remote")
    assert np.allclose(X_train.toarray(), X[:20].toarray()) and X_test.shape == (10, 7)


def test_malformed_download_names_file_and_line_and_is_not_kept(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    server.files["/bad.train"] = (b"5 1:0.5 2:1\n7 3:abc\n", "ok")
    server.files["/bad.test"] = (b"5 1:1\n", "ok")
    files = {role: RemoteFile(f"{server.url}/bad.{role}", None) for role in ("train", "test")}
    info = DatasetInfo(
        "bad_remote", "remote", "test set", "local", "none", "given", 2, 1, 3, 2, sparse=True
    )
    monkeypatch.setitem(remote.REMOTE, "bad_remote", remote.RemoteDataset(info, files))
    monkeypatch.setitem(remote.REMOTE_INFOS, "bad_remote", info)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.raises(
            shared_datasets.MalformedDataError, match=r"bad\.train:2: .*'3:abc'.*Removed"
        ):
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


# ---- cached files are verified on load; bad ones are removed and fetched again (issue 15)
def _unpinned_remote(server, tmp_path, monkeypatch, train: bytes, test: bytes, rows=(20, 10)):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    server.files["/u.train"], server.files["/u.test"] = (train, "ok"), (test, "ok")
    files = {role: RemoteFile(f"{server.url}/u.{role}", None) for role in ("train", "test")}
    info = DatasetInfo(
        "unpinned_remote", "remote", "test set", "local", "none", "given", *rows, 7, 3, sparse=True
    )
    monkeypatch.setitem(remote.REMOTE, "unpinned_remote", remote.RemoteDataset(info, files))
    monkeypatch.setitem(remote.REMOTE_INFOS, "unpinned_remote", info)
    return tmp_path / "unpinned_remote"


def _svmlight_bytes(X, y):
    import io as _io

    buffer = _io.BytesIO()
    dump_svmlight_file(X, y, buffer, zero_based=False)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore::shared_datasets.download.UnverifiedDownloadWarning")
def test_truncated_cached_unpinned_svmlight_is_removed_and_fetched_again(
    server, tmp_path, monkeypatch
):
    X = sp.random(30, 7, density=0.5, random_state=2, format="csr")
    y = np.arange(30) % 3
    train, test = _svmlight_bytes(X[:20], y[:20]), _svmlight_bytes(X[20:], y[20:])
    folder = _unpinned_remote(server, tmp_path, monkeypatch, train, test)
    with pytest.warns(UnverifiedDownloadWarning):
        shared_datasets.load("unpinned_remote")
    cached = folder / "u.train"
    cached.write_bytes(b"".join(train.splitlines(keepends=True)[:15]))  # cut at a line end: parses
    with pytest.warns(
        shared_datasets.CacheRepairWarning, match=r"15 \+ 10 rows .* registry records 20 \+ 10"
    ):
        X_train, _, X_test, _ = shared_datasets.load("unpinned_remote")
    assert X_train.shape == (20, 7) and np.allclose(X_train.toarray(), X[:20].toarray())
    assert server.requests.count("/u.train") == 2 and cached.read_bytes() == train


def test_truncated_decompressed_copy_of_pinned_bz2_is_decompressed_again(
    fake_remote, server, tmp_path
):
    X, _ = fake_remote
    shared_datasets.load("tiny_remote")
    n_requests = len(server.requests)
    copy = tmp_path / "tiny_remote" / "tiny.train"
    copy.write_bytes(b"".join(copy.read_bytes().splitlines(keepends=True)[:12]))
    with pytest.warns(shared_datasets.CacheRepairWarning, match=r"12 \+ 10 rows"):
        X_train, _, _, _ = shared_datasets.load("tiny_remote")
    assert np.allclose(X_train.toarray(), X[:20].toarray())
    assert len(server.requests) == n_requests  # the pinned .bz2 was verified and decompressed again


def test_download_with_too_few_rows_is_refused_and_not_kept(server, tmp_path, monkeypatch):
    X = sp.random(30, 7, density=0.5, random_state=2, format="csr")
    y = np.arange(30) % 3
    folder = _unpinned_remote(
        server,
        tmp_path,
        monkeypatch,
        _svmlight_bytes(X[:18], y[:18]),
        _svmlight_bytes(X[20:], y[20:]),
    )
    with (
        pytest.warns(UnverifiedDownloadWarning),
        pytest.raises(
            shared_datasets.MalformedDataError, match=r"18 \+ 10 rows .* registry records 20 \+ 10"
        ),
    ):
        shared_datasets.load("unpinned_remote")
    assert _leftovers(folder) == []


HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>back soon</body></html>\n"
)


def test_html_page_answered_with_200_is_not_kept(server, tmp_path):
    server.files["/data.txt"] = (HTML, "ok")
    with pytest.raises(shared_datasets.DownloadError, match="HTML page"):
        fetch_file(RemoteFile(server.url + "/data.txt", None), tmp_path)
    assert _leftovers(tmp_path) == []


def test_cached_html_page_is_removed_and_fetched_again(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    (tmp_path / "data.txt").write_bytes(HTML)
    # The inner block only silences the other warning that the fetch gives.
    with pytest.warns(shared_datasets.CacheRepairWarning, match="HTML page"):  # noqa: SIM117, PT031
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnverifiedDownloadWarning)
            path = fetch_file(RemoteFile(server.url + "/data.txt", None), tmp_path)
    assert path.read_bytes() == PAYLOAD and server.requests == ["/data.txt"]


# ---- atomic writes keep the umask's mode; stale temporaries are swept (issue 15)
@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_downloads_and_decompressed_files_get_the_umask_mode(server, tmp_path, umask_027):
    packed = bz2.compress(PAYLOAD)
    server.files["/d.bz2"] = (packed, "ok")
    path = fetch_file(RemoteFile(server.url + "/d.bz2", _sha(packed), decompress="bz2"), tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "d.bz2").stat().st_mode) == 0o640


def test_stale_temporaries_are_swept_on_the_next_write(server, tmp_path):
    server.files["/data.txt"] = (PAYLOAD, "ok")
    stale = [
        tmp_path / ".data.txt.partial-ab12cd34",
        tmp_path / "tmpk2j4h5g6",
        tmp_path / ".out.partial-zz99yy88",
    ]
    for path in stale[:2]:
        path.write_bytes(b"half a download")
    stale[2].mkdir()
    (stale[2] / "member").write_bytes(b"half an extraction")
    for path in [stale[2] / "member", *stale]:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    fresh = tmp_path / ".other.partial-qq11ww22"  # a concurrent writer's file: recent, kept
    fresh.write_bytes(b"in progress")
    fetch_file(RemoteFile(server.url + "/data.txt", _sha(PAYLOAD)), tmp_path)
    assert _leftovers(tmp_path) == [".other.partial-qq11ww22", "data.txt"]
