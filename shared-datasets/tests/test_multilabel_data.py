"""Multi-label benchmark files: the readers (LIBSVM comma-separated labels, the Extreme
Classification Repository's header format) on hand-written files and on every kind of
damage, and the registry entries end to end through the local HTTP server (registry
entries re-pointed to 127.0.0.1) or manual placement. No test touches the internet."""

import bz2
import dataclasses
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import shared_datasets
from shared_datasets import remote
from shared_datasets.download import UnverifiedDownloadWarning
from shared_datasets.multilabel_files import read_libsvm_multilabel, read_xc_file, read_xc_files


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------ readers
def test_xc_file_by_hand(tmp_path):
    path = _write(tmp_path, "train.txt", "4 5 3\n0,2 0:0.5 4:1\n1 3:2\n 2:1\n2\n")
    X, Y, header = read_xc_file(path)
    assert header == (4, 5, 3) and sp.isspmatrix_csr(X) and sp.isspmatrix_csr(Y)
    assert X.toarray().tolist() == [[0.5, 0, 0, 0, 1], [0, 0, 0, 2, 0], [0, 0, 1, 0, 0], [0] * 5]
    assert Y.toarray().tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert Y.dtype == np.int64 and Y.has_sorted_indices


@pytest.mark.parametrize(
    "text, message",
    [
        ("0,1 0:1\n", r"train.txt:1: expected the header 'n_points n_features n_labels'"),
        ("2 5\n", r"train.txt:1: expected the header"),
        ("1 0 3\n0 0:1\n", "both must be >= 1"),
        ("3 5 3\n0 0:1\n1 1:1\n", "header declares 3 points but the file holds 2"),
        ("1 5 3\n0 0:1\n1 1:1\n", "header declares 1 points but the file holds 2"),
        ("1 5 3\n0 5:1\n", "a feature index is >= n_features=5 declared by the header"),
        ("2 5 3\n0 0:1\n3 1:1\n", r"train.txt:3: label 3 is outside \[0, 3\)"),
        ("2 5 3\n0 0:1\n\n1,1 0:1\n", r"train.txt:4: label 1 is listed twice"),  # blank line 3
        ("1 5 3\n1.5 0:1\n", r"train.txt:2: label 1.5 is not a non-negative integer"),
        ("2 5 3\n0 0:1\n1 0:nan\n", r"train.txt:3: a feature value is NaN or infinite"),
        ("2 5 3\n0 0:1\n1 1:1 0:2\n", r"train.txt:3: feature indices not increasing"),
        ("2 5 3\n0 0:1\n1 x:2\n", r"train.txt:3: feature 'x:2' is not index:value"),
    ],
)
def test_xc_file_damage(tmp_path, text, message):
    with pytest.raises(shared_datasets.MalformedDataError, match=message):
        read_xc_file(_write(tmp_path, "train.txt", text))


def test_xc_files_must_share_their_header(tmp_path):
    train = _write(tmp_path, "train.txt", "1 5 3\n0 0:1\n")
    test = _write(tmp_path, "test.txt", "1 5 4\n3 0:1\n")
    with pytest.raises(shared_datasets.MalformedDataError, match="do not belong together"):
        read_xc_files([train, test])


def test_libsvm_multilabel_common_columns_and_line_numbers(tmp_path):
    train = _write(tmp_path, "train", "# header comment\n0,4 1:1 3:2\n4 2:1\n")
    test = _write(tmp_path, "test", "2 1:3\n 2:1\n")
    (X, Y, Xt, Yt), classes = read_libsvm_multilabel([train, test], n_features=5)
    assert classes.tolist() == [0, 2, 4] and X.shape == Xt.shape == (2, 5)
    assert Y.toarray().tolist() == [[1, 0, 1], [0, 0, 1]]
    assert Yt.toarray().tolist() == [[0, 1, 0], [0, 0, 0]]  # a document without labels
    assert X.toarray().tolist() == [[1, 0, 2, 0, 0], [0, 1, 0, 0, 0]]
    bad = _write(tmp_path, "bad", "# comment\n1 1:1\n2,2 1:1\n")
    with pytest.raises(shared_datasets.MalformedDataError, match=r"bad:3: label 2 is listed twice"):
        read_libsvm_multilabel([bad])
    bad = _write(tmp_path, "bad", "1 1:1\n-1 1:1\n")
    with pytest.raises(
        shared_datasets.MalformedDataError, match=r"bad:2: label -1.0 is not a non-negative"
    ):
        read_libsvm_multilabel([bad])
    bad = _write(tmp_path, "bad", "1 1:inf\n")
    with pytest.raises(shared_datasets.MalformedDataError, match=r"bad:1: a feature value is NaN"):
        read_libsvm_multilabel([bad])
    bad = _write(tmp_path, "bad", "1 1:1\n1;2 1:1\n")
    with pytest.raises(
        shared_datasets.MalformedDataError,
        match=r"bad:2: malformed svmlight line: label '1;2' is not a number",
    ):
        read_libsvm_multilabel([bad])


# ------------------------------------------------------------------------------ registry
def test_registry_entries():
    names = set(shared_datasets.list_datasets())
    assert {"scene", "yeast", "rcv1_topics", "eurlex_4k", "wiki10_31k"} <= names
    assert {"eurlex_4k", "wiki10_31k"} <= set(shared_datasets.list_datasets("manual"))
    scene = shared_datasets.info("scene")
    assert (scene.kind, scene.n_train, scene.n_test, scene.n_features, scene.n_classes) == (
        "remote",
        1211,
        1196,
        294,
        6,
    )
    assert shared_datasets.info("wiki10_31k").n_classes == 30938
    rcv1 = remote.REMOTE["rcv1_topics"]
    assert sorted(rcv1.files) == ["test_0", "test_1", "test_2", "test_3", "train"]
    assert rcv1.files["test_2"].url.endswith("/multilabel/rcv1_topics_test_2.svm.bz2")
    assert all(f.known_hash is None and f.decompress == "bz2" for f in rcv1.files.values())


def _serve(monkeypatch, server, name, blobs, *, rows, pinned=False, **info_changes):
    """Serve ``blobs[role]`` (bz2-compressed on the fly where the entry decompresses) and
    point dataset ``name``'s files there; ``rows`` = (n_train, n_test) of the fakes."""
    dataset = remote.REMOTE[name]
    info = dataclasses.replace(dataset.info, n_train=rows[0], n_test=rows[1], **info_changes)
    files = {}
    for role, text in blobs.items():
        original = dataset.files[role]
        blob = bz2.compress(text.encode()) if original.decompress == "bz2" else text.encode()
        server.files[f"/{name}/{role}.bz2"] = (blob, "ok")
        files[role] = dataclasses.replace(
            original, url=f"{server.url}/{name}/{role}.bz2", filename=original.download_name
        )
    monkeypatch.setitem(remote.REMOTE, name, dataclasses.replace(dataset, info=info, files=files))
    monkeypatch.setitem(remote.REMOTE_INFOS, name, info)


SCENE_TRAIN = "0,5 1:0.5 3:1\n2 2:0.25\n1,2,3 294:1\n"
SCENE_TEST = "4 1:1\n 3:2\n"


def test_libsvm_multilabel_set_over_http(server, home, monkeypatch):
    _serve(monkeypatch, server, "scene", {"train": SCENE_TRAIN, "test": SCENE_TEST}, rows=(3, 2))
    with pytest.warns(UnverifiedDownloadWarning, match="no checksum is registered"):
        X_train, Y_train, X_test, Y_test = shared_datasets.load("scene", progressbar=False)
    assert X_train.shape == (3, 294) and X_test.shape == (2, 294)
    assert sp.isspmatrix_csr(Y_train) and Y_train.shape == (3, 6) and Y_test.shape == (2, 6)
    assert Y_train.toarray().tolist() == [
        [1, 0, 0, 0, 0, 1],
        [0, 0, 1, 0, 0, 0],
        [0, 1, 1, 1, 0, 0],
    ]
    assert Y_test.toarray().tolist() == [[0, 0, 0, 0, 1, 0], [0] * 6]
    assert X_train[0, 0] == 0.5 and X_train[2, 293] == 1.0 and X_test[1, 2] == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # second load: from the cache, no request, no warning
        again = shared_datasets.load("scene", progressbar=False)
    assert (again[1] != Y_train).nnz == 0 and len(server.requests) == 2


def test_test_set_in_several_files_is_read_in_order(server, home, monkeypatch):
    blobs = {"train": "0,100 1:1\n7 2:1\n"} | {f"test_{i}": f"{i} 1:{i + 1}\n" for i in range(4)}
    _serve(monkeypatch, server, "rcv1_topics", blobs, rows=(2, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        X_train, Y_train, X_test, Y_test = shared_datasets.load("rcv1_topics", progressbar=False)
    assert X_test[:, 0].toarray().ravel().tolist() == [1, 2, 3, 4]  # test_0 .. test_3 in order
    # columns: the sorted distinct labels 0, 1, 2, 3, 7, 100 of all files
    assert Y_train.toarray().tolist() == [[1, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0]]
    assert Y_test.toarray().argmax(axis=1).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "train, rows, message",
    [
        (
            "0,5 1:0.5\n2 2:0.25\n1 1:1\n",
            (4, 2),
            r"3 \+ 2 rows of 294 features, but the registry records 4 \+ 2",
        ),
        (
            "0,5 1:0.5\n2.5 2:0.25\n1 1:1\n",
            (3, 2),
            r"scene_train:2: label 2.5 is not a non-negative integer",
        ),
        ("0,5 1:0.5\n2 2:nan\n1 1:1\n", (3, 2), r"scene_train:2: a feature value is NaN"),
        ("0,5 1:0.5\n6,7,8 2:1\n1 1:1\n", (3, 2), "7 distinct labels, but the registry records 6"),
        ("0,5 1:0.5\n2 2:1\n1 295:1\n", (3, 2), "scene_train.*n_features was set to 294"),
    ],
)
def test_damaged_download_is_refused_and_removed(server, home, monkeypatch, train, rows, message):
    _serve(monkeypatch, server, "scene", {"train": train, "test": SCENE_TEST}, rows=rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.raises(shared_datasets.MalformedDataError, match=message):
            shared_datasets.load("scene", progressbar=False)
    assert not (home / "scene").exists() or list((home / "scene").iterdir()) == []  # nothing kept


def test_truncated_cached_file_is_fetched_again(server, home, monkeypatch):
    _serve(
        monkeypatch,
        server,
        "yeast",
        {"train": SCENE_TRAIN, "test": SCENE_TEST},
        rows=(3, 2),
        n_features=294,
    )
    folder = home / "yeast"
    folder.mkdir(parents=True)
    (folder / "yeast_train.svm").write_text(SCENE_TRAIN.splitlines(keepends=True)[0])  # 1 of 3 rows
    (folder / "yeast_test.svm").write_text(SCENE_TEST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.warns(shared_datasets.CacheRepairWarning, match="failed validation"):
            X_train, Y_train, _, _ = shared_datasets.load("yeast", progressbar=False)
    assert X_train.shape == (3, 294) and Y_train.shape == (3, 6)


def test_multilabel_parameter_is_refused():
    with pytest.raises(shared_datasets.InvalidParameterError, match="LSHTC datasets only"):
        shared_datasets.load("scene", multilabel="all")


# ------------------------------------------------------------------------------ XC sets
XC_TRAIN = "3 6 4\n0,3 0:1 5:0.5\n2 1:1\n 4:2\n"
XC_TEST = "2 6 4\n1 2:1\n0,1,2 3:1\n"


def _small_xc(monkeypatch, name="eurlex_4k", **changes):
    dataset = remote.REMOTE[name]
    sizes = dict(n_train=3, n_test=2, n_features=6, n_classes=4) | changes
    info = dataclasses.replace(dataset.info, **sizes)
    monkeypatch.setitem(remote.REMOTE, name, dataclasses.replace(dataset, info=info))
    monkeypatch.setitem(remote.REMOTE_INFOS, name, info)


def test_xc_set_manual_placement(home, monkeypatch):
    _small_xc(monkeypatch)
    with pytest.raises(shared_datasets.ManualDownloadRequiredError) as error:
        shared_datasets.load("eurlex_4k")
    message = str(error.value)
    assert str(home / "eurlex_4k" / "train.txt") in message and "EURLex-4K" in message
    assert "manikvarma.org" in message
    with pytest.raises(shared_datasets.ManualDownloadRequiredError):
        shared_datasets.fetch("eurlex_4k")
    folder = home / "eurlex_4k"
    folder.mkdir(parents=True)
    _write(folder, "train.txt", XC_TRAIN)
    _write(folder, "test.txt", XC_TEST)
    assert shared_datasets.fetch("eurlex_4k") == {
        "train": folder / "train.txt",
        "test": folder / "test.txt",
    }
    X_train, Y_train, X_test, Y_test = shared_datasets.load("eurlex_4k")
    assert X_train.shape == (3, 6) and Y_train.shape == (3, 4) and Y_test.shape == (2, 4)
    assert Y_train.toarray().tolist() == [[1, 0, 0, 1], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert Y_test.toarray().tolist() == [[0, 1, 0, 0], [1, 1, 1, 0]]
    assert X_train[0, 5] == 0.5 and X_test[1, 3] == 1.0


def test_xc_set_of_another_edition_is_refused_and_kept(home, monkeypatch):
    _small_xc(monkeypatch, n_classes=5)
    folder = home / "eurlex_4k"
    folder.mkdir(parents=True)
    _write(folder, "train.txt", XC_TRAIN)
    _write(folder, "test.txt", XC_TEST)
    with pytest.raises(
        shared_datasets.MalformedDataError, match="headers declare 4 labels, the registry records 5"
    ):
        shared_datasets.load("eurlex_4k")
    assert (folder / "train.txt").read_text() == XC_TRAIN  # files placed by hand are never removed
    _small_xc(monkeypatch, n_train=4)
    with pytest.raises(shared_datasets.MalformedDataError, match=r"3 \+ 2 rows of 6 features"):
        shared_datasets.load("eurlex_4k")


def test_xc_format_over_http(server, home, monkeypatch):
    """A downloadable XC-format entry (kind 'remote', reader 'xc') uses the same checks and
    the cache clean-up of the other remote sets."""
    info = shared_datasets.DatasetInfo(
        "xc_fake", "remote", "fake", "local", "none", "split", 3, 2, 6, 4, sparse=True
    )
    server.files["/train.txt"] = (XC_TRAIN.encode(), "ok")
    server.files["/test.txt"] = (
        XC_TEST.replace("2 6 4", "2 6 5").encode(),
        "ok",
    )  # header disagrees
    files = {
        role: remote.RemoteFile(f"{server.url}/{role}.txt", None) for role in ("train", "test")
    }
    monkeypatch.setitem(remote.REMOTE, "xc_fake", remote.RemoteDataset(info, files, reader="xc"))
    monkeypatch.setitem(remote.REMOTE_INFOS, "xc_fake", info)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnverifiedDownloadWarning)
        with pytest.raises(shared_datasets.MalformedDataError, match="do not belong together"):
            shared_datasets.load("xc_fake", progressbar=False)
        assert list((home / "xc_fake").iterdir()) == []
        server.files["/test.txt"] = (XC_TEST.encode(), "ok")
        _, Y_train, _, Y_test = shared_datasets.load("xc_fake", progressbar=False)
    assert Y_train.sum() == 3 and Y_test.toarray()[1].tolist() == [1, 1, 1, 0]


# ------------------------------------------------------------------------------ fuzzing

VALID_XC = b"3 6 4\n0,3 0:1 5:0.5\n2 1:1\n 4:2\n"


@given(st.data())
def test_fuzz_damaged_xc_file_is_read_consistently_or_refused(tmp_path_factory, data):
    """Bit flips, truncation and inserted bytes: the reader returns shapes that agree with
    the header, or raises MalformedDataError; never another exception."""
    blob = bytearray(VALID_XC)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        if action == "flip" and blob:
            blob[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=6))
    path = tmp_path_factory.mktemp("fuzz") / "train.txt"
    path.write_bytes(bytes(blob))
    try:
        X, Y, (n_points, n_features, n_labels) = read_xc_file(path)
    except shared_datasets.MalformedDataError:
        return
    assert X.shape == (n_points, n_features) and Y.shape == (n_points, n_labels)
    assert np.isfinite(X.data).all() and set(np.unique(Y.data).tolist()) <= {1}
