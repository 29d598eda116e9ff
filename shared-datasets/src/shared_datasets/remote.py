"""Registry of the remote datasets of the thesis (Tables III.1, III.2, IV.1, A.1) and
their loaders.

Checksums: a hash is registered only where it comes from a maintained source we could
read (the Keras and scikit-learn download code, torchvision's USPS loader); every other
file has ``known_hash=None`` and its download is checked only by decompressing and
parsing it, with an :class:`~shared_datasets.download.UnverifiedDownloadWarning`.
That includes the multi-label sets of LIBSVM (scene, yeast, rcv1_topics): LIBSVM publishes
no checksums. The Extreme Classification Repository's sets (eurlex_4k, wiki10_31k) are
placed by hand and checked against their header line and the registry's sizes.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .catalog import DatasetInfo
from .cifar import CIFAR10_BATCH_ROWS, read_cifar10_archive
from .download import RemoteFile, fetch_file
from .errors import (
    CacheRepairWarning,
    InvalidParameterError,
    MalformedDataError,
    ManualDownloadRequiredError,
)
from .memory import check_memory
from .multilabel_files import read_libsvm_multilabel, read_xc_files
from .paths import data_home
from .splitting import split_90_10
from .svmlight import read_svmlight

__all__ = ["REMOTE", "REMOTE_INFOS", "RemoteDataset", "fetch", "load_remote", "dataset_folder"]

LIBSVM = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets"
_LIBSVM_SOURCE = "LIBSVM data repository (Chang & Lin), " + LIBSVM
_LIBSVM_LICENSE = "as the original data (see the LIBSVM repository page); research use"
_SEEDED = "seeded stratified 90/10 split (seed 0)"


@dataclass(frozen=True)
class RemoteDataset:
    """A remote dataset: its metadata, its files by role, and how to read them."""

    info: DatasetInfo
    # role -> RemoteFile; the manual LSHTC sets hold {"how": where to get them} instead
    files: dict[str, Any] = field(default_factory=dict)
    reader: str = "svmlight"
    # svmlight: features are one-based; n_features from info.n_features


def _libsvm(
    name: str,
    path_train: str,
    path_test: str | None,
    *,
    n_features: int,
    n_classes: int,
    n_train: int,
    n_test: int,
    description: str,
    compressed: str | None = None,
    split: str | None = None,
    hashes: tuple[str | None, str | None] = (None, None),
    hash_source: str = "",
) -> RemoteDataset:
    files = {"train": RemoteFile(f"{LIBSVM}/{path_train}", hashes[0], hash_source, compressed)}
    if path_test:
        files["test"] = RemoteFile(f"{LIBSVM}/{path_test}", hashes[1], hash_source, compressed)
    split = split or ("LIBSVM split" if path_test else _SEEDED)
    return RemoteDataset(
        DatasetInfo(
            name,
            "remote",
            description,
            _LIBSVM_SOURCE,
            _LIBSVM_LICENSE,
            split,
            n_train,
            n_test,
            n_features,
            n_classes,
            sparse=True,
        ),
        files,
    )


def _lshtc(
    name: str,
    edition: str,
    n_train: int,
    n_test: int,
    n_classes: int,
    n_features: int,
    how: str,
) -> RemoteDataset:
    return RemoteDataset(
        DatasetInfo(
            name,
            "manual",
            f"{edition} (Table III.2); multi-label svmlight text data",
            "LSHTC challenge (Partalas et al., 2015), account needed",
            "LSHTC challenge terms",
            "challenge split",
            n_train,
            n_test,
            n_features,
            n_classes,
            sparse=True,
        ),
        {"how": how},
        reader="lshtc",
    )


_LIBSVM_MULTILABEL_PAGE = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multilabel.html"
XC_REPOSITORY = "http://manikvarma.org/downloads/XC/XMLRepository.html"


def _libsvm_multilabel(
    name: str,
    path_train: str,
    paths_test: list[str],
    *,
    n_features: int,
    n_labels: int,
    n_train: int,
    n_test: int,
    description: str,
) -> RemoteDataset:
    """A LIBSVM multi-label set ('l1,l2,... index:value ...', bz2); several test files
    (rcv1_topics) are read as one test set, in order. No checksum is published: the
    downloads are unpinned (see the module docstring)."""
    files = {"train": RemoteFile(f"{LIBSVM}/multilabel/{path_train}", None, "", "bz2")}
    for i, path in enumerate(paths_test):
        role = "test" if len(paths_test) == 1 else f"test_{i}"
        files[role] = RemoteFile(f"{LIBSVM}/multilabel/{path}", None, "", "bz2")
    return RemoteDataset(
        DatasetInfo(
            name,
            "remote",
            description + "; multi-label (Y: CSR 0/1 indicator)",
            "LIBSVM multi-label data (Chang & Lin), " + _LIBSVM_MULTILABEL_PAGE,
            _LIBSVM_LICENSE,
            "LIBSVM split",
            n_train,
            n_test,
            n_features,
            n_labels,
            sparse=True,
        ),
        files,
        reader="libsvm_multilabel",
    )


def _xc(
    name: str, title: str, n_train: int, n_test: int, n_features: int, n_labels: int
) -> RemoteDataset:
    """A set of the Extreme Classification Repository, placed by hand: the repository
    serves its files through Google Drive links, which cannot be fetched without a browser."""
    return RemoteDataset(
        DatasetInfo(
            name,
            "manual",
            f"{title}, bag-of-words features; multi-label (Y: CSR 0/1 indicator)",
            f"The Extreme Classification Repository (Bhatia et al.), {XC_REPOSITORY}",
            "as the original data (see the repository page); research use",
            "repository split",
            n_train,
            n_test,
            n_features,
            n_labels,
            sparse=True,
        ),
        {"how": title},
        reader="xc",
    )


REMOTE = {
    d.info.name: d
    for d in [
        # ---- Table III.1: LIBSVM multi-class sets (names of the offline UCI copies get a libsvm_ prefix)
        _libsvm(
            "libsvm_iris",
            "multiclass/iris.scale",
            None,
            n_features=4,
            n_classes=3,
            n_train=135,
            n_test=15,
            description="iris, LIBSVM copy scaled to [-1, 1]",
        ),
        _libsvm(
            "libsvm_glass",
            "multiclass/glass.scale",
            None,
            n_features=9,
            n_classes=6,
            n_train=192,
            n_test=22,
            description="glass, LIBSVM copy scaled to [-1, 1]",
        ),
        _libsvm(
            "libsvm_letter",
            "multiclass/letter.scale",
            "multiclass/letter.scale.t",
            n_features=16,
            n_classes=26,
            n_train=15000,
            n_test=5000,
            description="letter, LIBSVM copy scaled to [-1, 1]",
        ),
        _libsvm(
            "libsvm_satimage",
            "multiclass/satimage.scale",
            "multiclass/satimage.scale.t",
            n_features=36,
            n_classes=6,
            n_train=4435,
            n_test=2000,
            description="satimage, LIBSVM copy scaled to [-1, 1]",
        ),
        _libsvm(
            "news20",
            "multiclass/news20.bz2",
            "multiclass/news20.t.bz2",
            n_features=62061,
            n_classes=20,
            n_train=15935,
            n_test=3993,
            compressed="bz2",
            description="20 Newsgroups bag of words (LIBSVM)",
        ),
        _libsvm(
            "rcv1",
            "multiclass/rcv1_train.multiclass.bz2",
            "multiclass/rcv1_test.multiclass.bz2",
            n_features=47236,
            n_classes=53,
            n_train=15564,
            n_test=518571,
            compressed="bz2",
            description="RCV1 multi-class (LIBSVM rcv1.multiclass; 53 classes over train and test)",
        ),
        _libsvm(
            "sensit",
            "multiclass/vehicle/combined.bz2",
            "multiclass/vehicle/combined.t.bz2",
            n_features=100,
            n_classes=3,
            n_train=78823,
            n_test=19705,
            compressed="bz2",
            description="SensIT Vehicle, acoustic + seismic (combined)",
        ),
        _libsvm(
            "splice",
            "binary/splice",
            "binary/splice.t",
            n_features=60,
            n_classes=2,
            n_train=1000,
            n_test=2175,
            description="splice junctions, binary (LIBSVM)",
        ),
        _libsvm(
            "usps",
            "multiclass/usps.bz2",
            "multiclass/usps.t.bz2",
            n_features=256,
            n_classes=10,
            n_train=7291,
            n_test=2007,
            compressed="bz2",
            description="USPS handwritten digits 16x16 (LIBSVM)",
            hashes=("md5:ec16c51db3855ca6c91edd34d0e9b197", "md5:8ea070ee2aca1ac39742fdd1ef5ed118"),
            hash_source="torchvision.datasets.USPS",
        ),
        # ---- Table IV.1 / A.1
        _libsvm(
            "libsvm_mnist",
            "multiclass/mnist.bz2",
            "multiclass/mnist.t.bz2",
            n_features=784,
            n_classes=10,
            n_train=60000,
            n_test=10000,
            compressed="bz2",
            description="MNIST (LIBSVM copy, pixel values 0..255)",
        ),
        _libsvm(
            "a9a",
            "binary/a9a",
            "binary/a9a.t",
            n_features=123,
            n_classes=2,
            n_train=32561,
            n_test=16281,
            description="Adult census income, binarised features (LIBSVM a9a)",
        ),
        _libsvm(
            "gisette",
            "binary/gisette_scale.bz2",
            "binary/gisette_scale.t.bz2",
            n_features=5000,
            n_classes=2,
            n_train=6000,
            n_test=1000,
            compressed="bz2",
            description="Gisette (NIPS 2003 feature selection), scaled (LIBSVM)",
        ),
        RemoteDataset(
            DatasetInfo(
                "mnist",
                "remote",
                "MNIST 28x28 digits, 0..255 (Keras' mnist.npz)",
                "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                "CC BY-SA 3.0",
                "original split (60000 train / 10000 test)",
                60000,
                10000,
                784,
                10,
            ),
            {
                "archive": RemoteFile(
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
                    "sha256:731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                    "keras.datasets.mnist",
                )
            },
            reader="mnist_npz",
        ),
        RemoteDataset(
            DatasetInfo(
                "cifar10",
                "remote",
                "CIFAR-10 32x32x3 images, 0..255, flattened channel-first (3072)",
                "https://www.cs.toronto.edu/~kriz/cifar.html",
                "see the CIFAR page (free for research)",
                "original split (50000 train / 10000 test)",
                50000,
                10000,
                3072,
                10,
            ),
            {
                "archive": RemoteFile(
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    "sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                    "keras.datasets.cifar10",
                )
            },
            reader="cifar10",
        ),
        RemoteDataset(
            DatasetInfo(
                "covtype",
                "remote",
                "UCI forest cover type, 54 features, 7 classes",
                "UCI covtype.data.gz as mirrored for scikit-learn (figshare)",
                "CC BY 4.0 (UCI)",
                _SEEDED,
                522910,
                58102,
                54,
                7,
            ),
            {
                "data": RemoteFile(
                    "https://ndownloader.figshare.com/files/5976039",
                    "sha256:614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771",
                    "sklearn.datasets.fetch_covtype",
                    decompress="gz",
                    filename="covtype.data.gz",
                )
            },
            reader="covtype",
        ),
        RemoteDataset(
            DatasetInfo(
                "letter_uci",
                "remote",
                "UCI Letter Recognition, original CSV (same data as 'letter')",
                "UCI machine learning repository",
                "CC BY 4.0 (UCI)",
                "UCI split (first 16000 train / last 4000 test)",
                16000,
                4000,
                16,
                26,
            ),
            {
                "data": RemoteFile(
                    "https://archive.ics.uci.edu/ml/machine-learning-databases/letter-recognition/letter-recognition.data",
                    None,
                )
            },
            reader="uci_letter",
        ),
        # ---- Table III.2: LSHTC, behind a registration
        _lshtc(
            "lshtc_small",
            "LSHTC-small (LSHTC1 2010, DMOZ dry-run)",
            4463,
            1858,
            1139,
            51033,
            "LSHTC1 (2010) dry-run/'small' dataset, http://lshtc.iit.demokritos.gr/",
        ),
        _lshtc(
            "lshtc_large",
            "LSHTC-large (LSHTC1 2010, DMOZ large)",
            128710,
            34880,
            12294,
            381581,
            "LSHTC1 (2010) large dataset, http://lshtc.iit.demokritos.gr/",
        ),
        _lshtc(
            "lshtc_2011",
            "LSHTC-2011 (LSHTC2, DMOZ)",
            394754,
            104263,
            27875,
            594158,
            "LSHTC2 (2011) DMOZ dataset, http://lshtc.iit.demokritos.gr/",
        ),
        _lshtc(
            "lshtc_2012",
            "LSHTC-2012 (LSHTC3, DMOZ)",
            383408,
            103435,
            11947,
            575555,
            "LSHTC3 (2012) DMOZ dataset, http://lshtc.iit.demokritos.gr/",
        ),
        # ---- Multi-label benchmarks (issue #14): Y is a CSR 0/1 indicator matrix
        _libsvm_multilabel(
            "scene",
            "scene_train.bz2",
            ["scene_test.bz2"],
            n_features=294,
            n_labels=6,
            n_train=1211,
            n_test=1196,
            description="scene classification (Boutell et al., 2004)",
        ),
        _libsvm_multilabel(
            "yeast",
            "yeast_train.svm.bz2",
            ["yeast_test.svm.bz2"],
            n_features=103,
            n_labels=14,
            n_train=1500,
            n_test=917,
            description="yeast gene functional classes (Elisseeff & Weston, 2001)",
        ),
        _libsvm_multilabel(
            "rcv1_topics",
            "rcv1_topics_train.svm.bz2",
            [f"rcv1_topics_test_{i}.svm.bz2" for i in range(4)],
            n_features=47236,
            n_labels=101,
            n_train=23149,
            n_test=781265,
            description="RCV1-v2 topics, full sets (Lewis et al., 2004); test set in four files",
        ),
        _xc("eurlex_4k", "EURLex-4K", 15539, 3809, 5000, 3993),
        _xc("wiki10_31k", "Wiki10-31K", 14146, 6616, 101938, 30938),
    ]
}

REMOTE_INFOS = {name: d.info for name, d in REMOTE.items()}


def dataset_folder(name: str) -> Path:
    """Cache folder of dataset ``name``: ``data_home() / name`` (LSHTC: ``data_home()/lshtc/name``)."""
    if REMOTE[name].reader == "lshtc":
        return data_home() / "lshtc" / name
    return data_home() / name


def fetch(name: str, *, progressbar: bool = False) -> dict[str, Path]:
    """Download (if needed) every file of remote dataset ``name``; return ``{role: local path}``.

    Examples
    --------
    >>> from shared_datasets.remote import fetch
    >>> paths = fetch("usps", progressbar=True)  # doctest: +SKIP
    """
    dataset = REMOTE[name]
    if dataset.reader == "lshtc":
        return _lshtc_paths(name)
    if dataset.info.kind == "manual":
        return _xc_paths(name)
    folder = dataset_folder(name)
    return {
        role: fetch_file(f, folder, progressbar=progressbar) for role, f in dataset.files.items()
    }


# ------------------------------------------------------------------------------- readers
def _encode_labels(*label_arrays: npt.ArrayLike) -> tuple[list[np.ndarray], np.ndarray]:
    classes = np.unique(np.concatenate([np.asarray(y) for y in label_arrays]))
    return [np.searchsorted(classes, y).astype(np.int64) for y in label_arrays], classes


Split = tuple[Any, np.ndarray, Any, np.ndarray]  # X_train, y_train, X_test, y_test


def _read_svmlight_dataset(dataset: RemoteDataset, paths: dict[str, Path]) -> Split:
    n_features = dataset.info.n_features
    if "test" in paths:
        X_train, y_train, X_test, y_test = read_svmlight(
            [paths["train"], paths["test"]], n_features=n_features
        )
    else:
        X, y = read_svmlight([paths["train"]], n_features=n_features)
        (y,), _ = _encode_labels(y)
        X_train, X_test, y_train, y_test = split_90_10(X, y)
        return X_train, y_train, X_test, y_test
    (y_train, y_test), _ = _encode_labels(y_train, y_test)
    return X_train, y_train, X_test, y_test


def _read_mnist_npz(paths: dict[str, Path]) -> Split:
    path = paths["archive"]
    try:
        with np.load(path, allow_pickle=False) as f:
            x_train, y_train, x_test, y_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    except (OSError, KeyError, ValueError) as error:
        raise MalformedDataError(f"{path}: not Keras' mnist.npz ({error})") from error
    return (
        x_train.reshape(len(x_train), -1).astype(np.float32),
        y_train.astype(np.int64),
        x_test.reshape(len(x_test), -1).astype(np.float32),
        y_test.astype(np.int64),
    )


def _read_cifar10(dataset: RemoteDataset, paths: dict[str, Path]) -> Split:
    # Read from the archive itself, whose SHA-256 pooch has just verified, never from an
    # extracted copy, and without unpickling (see shared_datasets.cifar).
    old = dataset_folder(dataset.info.name) / "extracted"
    if old.is_dir():  # left by shared-datasets <= 0.1.0, which unpickled from it
        shutil.rmtree(old, ignore_errors=True)
    return read_cifar10_archive(paths["archive"], rows=dataset.info.n_test or CIFAR10_BATCH_ROWS)


def _read_covtype(paths: dict[str, Path]) -> Split:
    path = paths["data"]
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except ValueError as error:
        raise MalformedDataError(f"{path}: {error}") from error
    if table.ndim != 2 or table.shape[1] != 55:
        raise MalformedDataError(f"{path}: expected 55 columns, got shape {table.shape}")
    (y,), _ = _encode_labels(table[:, -1].astype(np.int64))
    X_train, X_test, y_train, y_test = split_90_10(table[:, :-1].astype(np.float32), y)
    return X_train, y_train, X_test, y_test


def _read_uci_letter(paths: dict[str, Path]) -> Split:
    path = paths["data"]
    letters: list[str] = []
    rows: list[list[float]] = []
    with open(path, encoding="ascii") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            fields = line.strip().split(",")
            if len(fields) != 17 or len(fields[0]) != 1:
                raise MalformedDataError(
                    f"{path}:{number}: expected 'LETTER,16 integers', got {line.strip()!r}"
                )
            letters.append(fields[0])
            try:
                rows.append([float(v) for v in fields[1:]])
            except ValueError as error:
                raise MalformedDataError(f"{path}:{number}: {error}") from error
    X = np.asarray(rows, dtype=np.float32)
    y = np.asarray([ord(c) - ord("A") for c in letters], dtype=np.int64)
    return X[:16000], y[:16000], X[16000:], y[16000:]


def _lshtc_paths(name: str) -> dict[str, Path]:
    folder = dataset_folder(name)
    paths = {"train": folder / "train.txt", "test": folder / "test.txt"}
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        how = REMOTE[name].files["how"]
        raise ManualDownloadRequiredError(
            f"{name} cannot be downloaded automatically (the LSHTC challenge requires an account). "
            f"Get the {how}; then place the training file as {paths['train']} and the test file "
            f"(with labels) as {paths['test']}, both in LIBSVM/svmlight multi-label format "
            f"('label[,label...] index:value ...', one document a line). Missing: "
            + ", ".join(str(p) for p in missing)
        )
    return paths


def _read_lshtc(name: str, paths: dict[str, Path], multilabel: str) -> tuple[Any, Any, Any, Any]:
    X_train, y_train, X_test, y_test = read_svmlight(
        [paths["train"], paths["test"]], multilabel=True
    )
    if multilabel == "all":
        from sklearn.preprocessing import MultiLabelBinarizer

        binarizer = MultiLabelBinarizer(sparse_output=True)
        binarizer.fit(list(y_train) + list(y_test))
        return (
            X_train,
            binarizer.transform(y_train).tocsr(),
            X_test,
            binarizer.transform(y_test).tocsr(),
        )
    for path, labels in ((paths["train"], y_train), (paths["test"], y_test)):
        empty = [i for i, t in enumerate(labels) if len(t) == 0]
        if empty:
            raise MalformedDataError(
                f"{path}: document {empty[0] + 1} has no label; use multilabel='all'"
            )
    (y_train, y_test), _ = _encode_labels(
        np.array([t[0] for t in y_train]), np.array([t[0] for t in y_test])
    )
    return X_train, y_train, X_test, y_test


def load_remote(
    name: str, *, progressbar: bool = True, multilabel: str | None = None
) -> tuple[Any, Any, Any, Any]:
    """Fetch (if needed) and read remote dataset ``name``; see :func:`shared_datasets.load`.

    Parameters
    ----------
    progressbar : bool
        Show a tqdm progress bar while downloading.
    multilabel : {"first", "all"}, LSHTC only
        ``"first"`` (default) keeps each document's first label as an int label;
        ``"all"`` returns label sets as sparse indicator matrices.
    """
    dataset = REMOTE[name]
    if multilabel is not None and dataset.reader != "lshtc":
        raise InvalidParameterError(f"multilabel= applies to the LSHTC datasets only, not {name!r}")
    if dataset.reader == "lshtc":
        multilabel = multilabel or "first"
        if multilabel not in ("first", "all"):
            raise InvalidParameterError(f"multilabel must be 'first' or 'all', got {multilabel!r}")
        return _read_lshtc(name, _lshtc_paths(name), multilabel)
    if dataset.info.kind == "manual":  # placed by hand: validated, never removed
        return _read_verified(dataset, _xc_paths(name))
    for attempt in (1, 2):
        cached = _cached_files(dataset)
        paths = fetch(name, progressbar=progressbar)
        try:
            return _read_verified(dataset, paths)
        except MalformedDataError as error:
            # A file that fails validation never stays in the cache: what this load
            # downloaded goes, and of the cached files those no pinned hash vouches for
            # (unpinned downloads, decompressed copies); pinned files were just verified.
            stale, fresh = _discard(dataset, cached)
            removed = ", ".join(str(p) for p in stale + fresh)
            if attempt == 2 or not stale:
                note = f" Removed {removed}." if removed else ""
                raise MalformedDataError(
                    f"{error}.{note} Fetch it again; if this persists, the "
                    f"server's copy differs from the registry's."
                ) from error
            warnings.warn(
                f"{name}: the cached copy failed validation ({error}); removed {removed} "
                "and fetching it again.",
                CacheRepairWarning,
                stacklevel=3,
            )
    raise AssertionError("unreachable")


def _cached_files(dataset: RemoteDataset) -> list[Path]:
    """Files of ``dataset`` already in the cache before this load."""
    folder = dataset_folder(dataset.info.name)
    names = {n for f in dataset.files.values() for n in (f.download_name, f.local_name)}
    return [folder / n for n in sorted(names) if (folder / n).is_file()]


def _discard(dataset: RemoteDataset, cached: list[Path]) -> tuple[list[Path], list[Path]]:
    """Remove the files of ``dataset`` that this load downloaded, and the ``cached`` ones
    that no pinned hash vouches for; return both lists (stale cached, fresh)."""
    folder = dataset_folder(dataset.info.name)
    stale: list[Path] = []
    fresh: list[Path] = []
    for f in dataset.files.values():
        for path, pinned in (
            (folder / f.download_name, f.known_hash is not None),
            (folder / f.local_name, f.known_hash is not None and not f.decompress),
        ):
            if not path.is_file() or path in stale or path in fresh:
                continue
            if path not in cached:
                fresh.append(path)
            elif not pinned:
                stale.append(path)
    for path in stale + fresh:
        path.unlink(missing_ok=True)
    return stale, fresh


def _read_verified(dataset: RemoteDataset, paths: dict[str, Path]) -> Split:
    """Read the files, after a memory estimate, and check shapes against the registry."""
    if dataset.reader in ("libsvm_multilabel", "xc"):
        return _read_multilabel_verified(dataset, paths)
    info = dataset.info
    if dataset.reader == "svmlight":
        # scikit-learn's parser holds ~3 bytes per byte of text (values, indices, labels)
        estimate = 4 * sum(Path(p).stat().st_size for p in paths.values())
    else:  # dense: the raw array, its float32 copy and the stacked copy
        # (every dense entry of the registry records its sizes)
        estimate = 12 * ((info.n_train or 0) + (info.n_test or 0)) * (info.n_features or 0)
    check_memory(
        estimate,
        f"loading {info.name}",
        hint="free memory or use a machine with more; the estimate is for the whole set",
    )
    if dataset.reader == "svmlight":
        data = _read_svmlight_dataset(dataset, paths)
    elif dataset.reader == "mnist_npz":
        data = _read_mnist_npz(paths)
    elif dataset.reader == "cifar10":
        data = _read_cifar10(dataset, paths)
    elif dataset.reader == "covtype":
        data = _read_covtype(paths)
    elif dataset.reader == "uci_letter":
        data = _read_uci_letter(paths)
    else:
        raise AssertionError(f"no reader {dataset.reader!r}")  # registry entries are fixed above
    X_train, _, X_test, _ = data
    got = (X_train.shape[0], X_test.shape[0], X_train.shape[1])
    if got != (info.n_train, info.n_test, info.n_features):
        where = ", ".join(str(p) for p in paths.values())
        raise MalformedDataError(
            f"{where}: {got[0]} + {got[1]} rows of {got[2]} features, but the registry records "
            f"{info.n_train} + {info.n_test} rows of {info.n_features} for {info.name} "
            f"(a truncated or replaced file)"
        )
    return data


# ---------------------------------------------------------------- multi-label benchmarks
def _xc_paths(name: str) -> dict[str, Path]:
    folder = dataset_folder(name)
    paths = {"train": folder / "train.txt", "test": folder / "test.txt"}
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        title = REMOTE[name].files["how"]
        raise ManualDownloadRequiredError(
            f"{name} cannot be downloaded automatically (the Extreme Classification Repository "
            f"serves it through Google Drive). Download {title} (bag-of-words features) from "
            f"{XC_REPOSITORY}, unzip it, and place its training file as {paths['train']} and its "
            f"test file as {paths['test']}, unchanged (first line 'n_points n_features n_labels'). "
            "Missing: " + ", ".join(str(p) for p in missing)
        )
    return paths


def _read_multilabel_verified(
    dataset: RemoteDataset, paths: dict[str, Path]
) -> tuple[Any, Any, Any, Any]:
    """Read a multi-label set (train, then its test files in order) and check it against
    the registry: rows, features and (XC headers) labels; LIBSVM files: at most
    ``n_classes`` distinct labels, which become the indicator's columns in sorted order."""
    info = dataset.info
    test_roles = sorted(role for role in paths if role.startswith("test"))
    ordered = [paths["train"]] + [paths[role] for role in test_roles]
    # scikit-learn's parser holds ~3 bytes per byte of text, plus the indicator matrices
    check_memory(
        4 * sum(Path(p).stat().st_size for p in ordered),
        f"loading {info.name}",
        hint="free memory or use a machine with more; the estimate is for the whole set",
    )
    where = ", ".join(str(p) for p in ordered)
    if dataset.reader == "xc":
        parts = read_xc_files(ordered)
        n_labels = parts[1].shape[1]
        if n_labels != info.n_classes:
            raise MalformedDataError(
                f"{where}: the headers declare {n_labels} labels, the registry records "
                f"{info.n_classes} for {info.name} (another edition of the data?)"
            )
    else:
        parts, classes = read_libsvm_multilabel(ordered, n_features=info.n_features)
        if classes.size > (info.n_classes or 0):
            raise MalformedDataError(
                f"{where}: {classes.size} distinct labels, but the registry records "
                f"{info.n_classes} for {info.name} (a replaced file?)"
            )
    X_train, Y_train = parts[0], parts[1]
    X_test = sp.vstack(parts[2::2], format="csr")
    Y_test = sp.vstack(parts[3::2], format="csr")
    got = (X_train.shape[0], X_test.shape[0], X_train.shape[1])
    if got != (info.n_train, info.n_test, info.n_features):
        raise MalformedDataError(
            f"{where}: {got[0]} + {got[1]} rows of {got[2]} features, but the registry records "
            f"{info.n_train} + {info.n_test} rows of {info.n_features} for {info.name} "
            f"(a truncated or replaced file)"
        )
    return X_train, Y_train, X_test, Y_test
