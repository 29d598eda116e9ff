"""Multi-label data files: LIBSVM's comma-separated labels and the Extreme Classification
Repository's format, read into CSR features and CSR 0/1 label indicator matrices.

Both are parsed by scikit-learn's svmlight reader (``multilabel=True``) and then checked
like any untrusted input: the XC header's counts against the file (points, feature indices
``< n_features``, labels in ``[0, n_labels)``), labels that are integers and not repeated
within a sample, finite feature values. Every failure is a :class:`MalformedDataError`
naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file

from .errors import MalformedDataError
from .svmlight import locate_svmlight_error, read_svmlight

__all__ = ["read_xc_file", "read_xc_files", "read_libsvm_multilabel", "labels_to_indicator"]


def _line_of_sample(path: Path, sample: int, *, skip: int = 0) -> int:
    """Line number (1-based) of the ``sample``-th (0-based) data line of ``path``: blank
    and comment-only lines, and the first ``skip`` lines, hold no sample (error path only)."""
    seen = -1
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if number <= skip or not raw.split(b"#", 1)[0].strip():
                continue
            seen += 1
            if seen == sample:
                return number
    return 0


def labels_to_indicator(
    label_sets: Sequence[tuple[float, ...]],
    path: Path,
    *,
    n_labels: int | None = None,
    classes: np.ndarray | None = None,
    header_lines: int = 0,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(Y, classes)``: scikit-learn's multi-label tuples as a CSR 0/1 indicator (int64).

    Labels must be finite integers >= 0 and not repeated within a sample. With
    ``n_labels`` (an XC header) they must be ``< n_labels`` and column ``l`` is label
    ``l``; otherwise column ``j`` is ``classes[j]`` (default: the sorted distinct labels).

    Parameters
    ----------
    label_sets : sequence of tuple of float
        Each sample's labels, as ``load_svmlight_file(multilabel=True)`` returns them.
    path : Path
        The file they come from (named in errors, and scanned for the line number).
    n_labels : int, optional
        The XC header's label count.
    classes : ndarray of int, optional
        Label of each column (sorted); labels must be among them.
    header_lines : int, default=0
        Lines before the first sample (1 for the XC header), for line numbers.

    Returns
    -------
    Y : scipy.sparse.csr_matrix of shape (n_samples, n_labels), int64
    classes : ndarray of shape (n_labels,), int64

    Raises
    ------
    MalformedDataError
        A label that is not a non-negative integer, repeated, or (XC) ``>= n_labels``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from shared_datasets.multilabel_files import labels_to_indicator
    >>> Y, classes = labels_to_indicator([(3.0, 7.0), (), (7.0,)], Path("x"))
    >>> Y.toarray().tolist(), classes.tolist()
    ([[1, 1], [0, 0], [0, 1]], [3, 7])
    """
    n_rows = len(label_sets)
    lengths = np.fromiter((len(t) for t in label_sets), dtype=np.int64, count=n_rows)
    flat = np.fromiter(chain.from_iterable(label_sets), dtype=np.float64, count=int(lengths.sum()))
    row = np.repeat(np.arange(n_rows), lengths)

    def fail(index: int, reason: str) -> MalformedDataError:
        line = _line_of_sample(path, int(row[index]), skip=header_lines)
        return MalformedDataError(f"{path}:{line}: {reason}")

    bad = ~np.isfinite(flat) | (flat != np.round(flat)) | (flat < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise fail(i, f"label {float(flat[i])!r} is not a non-negative integer")
    # scikit-learn sorts each sample's labels, so a repeat is adjacent
    repeated = (flat[1:] == flat[:-1]) & (row[1:] == row[:-1])
    if repeated.any():
        i = int(np.argmax(repeated))
        raise fail(i, f"label {int(flat[i])} is listed twice")
    if n_labels is not None:
        outside = flat >= n_labels
        if outside.any():
            i = int(np.argmax(outside))
            raise fail(i, f"label {int(flat[i])} is outside [0, {n_labels}) declared by the header")
        classes = np.arange(n_labels, dtype=np.int64)
        columns = flat.astype(np.int64)
    else:
        if classes is None:
            classes = np.unique(flat).astype(np.int64)
        columns = np.searchsorted(classes, flat)
    Y = sp.csr_matrix(
        (np.ones(columns.size, dtype=np.int64), (row, columns)), shape=(n_rows, classes.size)
    )
    Y.sort_indices()
    return Y, classes


def _check_finite(path: Path, X: sp.csr_matrix, *, header_lines: int = 0) -> None:
    finite = np.isfinite(X.data)
    if not finite.all():
        sample = int(np.searchsorted(X.indptr, np.argmax(~finite), side="right")) - 1
        line = _line_of_sample(path, sample, skip=header_lines)
        raise MalformedDataError(f"{path}:{line}: a feature value is NaN or infinite")


def _read_xc_header(path: Path) -> tuple[int, int, int]:
    with open(path, "rb") as f:
        header = f.readline(256)
    fields = header.split()
    too_long = len(header) == 256 and not header.endswith(b"\n")
    if too_long or len(fields) != 3 or not all(field.isdigit() for field in fields):
        raise MalformedDataError(
            f"{path}:1: expected the header 'n_points n_features n_labels' of the Extreme "
            f"Classification Repository format, got {header[:80]!r}"
        )
    n_points, n_features, n_labels = (int(field) for field in fields)
    if n_features < 1 or n_labels < 1 or n_features > 2**31 - 1:
        raise MalformedDataError(
            f"{path}:1: the header declares {n_features} features and {n_labels} labels; "
            "both must be >= 1 (and features <= 2**31 - 1)"
        )
    return n_points, n_features, n_labels


def _locate_xc_error(path: Path) -> tuple[int, str] | None:
    """First malformed line after the header, as :func:`locate_svmlight_error` finds it."""
    import shutil
    import tempfile

    # Scan a copy without the header (error path only); line numbers shift by one.
    with open(path, "rb") as f, tempfile.NamedTemporaryFile(suffix=".txt") as copy:
        f.readline()
        shutil.copyfileobj(f, copy)
        copy.flush()
        found = locate_svmlight_error(Path(copy.name), multilabel=True, zero_based=True)
    return None if found is None else (found[0] + 1, found[1])


def read_xc_file(path: str | Path) -> tuple[sp.csr_matrix, sp.csr_matrix, tuple[int, int, int]]:
    """Read one file of the Extreme Classification Repository's sparse format.

    The first line is ``n_points n_features n_labels``; each further line is
    ``l1,l2,... f:v f:v ...`` with zero-based labels and feature indices (a point without
    labels starts with a space).

    Parameters
    ----------
    path : str or Path
        The file, e.g. ``train.txt`` of EURLex-4K.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n_points, n_features), float64
    Y : scipy.sparse.csr_matrix of shape (n_points, n_labels), int64
        0/1 indicator; column ``l`` is label ``l``.
    header : tuple of int
        ``(n_points, n_features, n_labels)``.

    Raises
    ------
    MalformedDataError
        The header is not three counts, or the file disagrees with it (number of points,
        a feature index ``>= n_features``, a label ``>= n_labels``), a label is repeated or
        not an integer, a value is NaN/infinite, or a line does not parse; the message names
        the file and line.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from shared_datasets.multilabel_files import read_xc_file
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
    >>> _ = path.write_text("2 5 3\\n0,2 0:0.5 4:1\\n1 3:2\\n")
    >>> X, Y, header = read_xc_file(path)
    >>> X.shape, Y.toarray().tolist(), header
    ((2, 5), [[1, 0, 1], [0, 1, 0]], (2, 5, 3))
    """
    path = Path(path)
    n_points, n_features, n_labels = _read_xc_header(path)
    with open(path, "rb") as f:
        f.readline()
        try:
            X, label_sets = load_svmlight_file(
                f, n_features=n_features, zero_based=True, multilabel=True, dtype=np.float64
            )
        except (ValueError, OverflowError) as error:
            if "n_features was set" in str(error):
                raise MalformedDataError(
                    f"{path}: a feature index is >= n_features={n_features} declared by the "
                    f"header ({error})"
                ) from error
            found = _locate_xc_error(path)
            where = f"{path}:{found[0]}: {found[1]}" if found else f"{path}: cannot read"
            raise MalformedDataError(f"{where} ({error})") from error
    if X.shape[0] != n_points:
        raise MalformedDataError(
            f"{path}: the header declares {n_points} points but the file holds {X.shape[0]} "
            "(a truncated or altered file)"
        )
    X = sp.csr_matrix(X)
    _check_finite(path, X, header_lines=1)
    Y, _ = labels_to_indicator(label_sets, path, n_labels=n_labels, header_lines=1)
    return X, Y, (n_points, n_features, n_labels)


def read_xc_files(paths: Sequence[str | Path]) -> list[Any]:
    """Read XC-format files that belong together (train, test): ``[X_0, Y_0, X_1, Y_1, ...]``.

    Their headers must agree on ``n_features`` and ``n_labels``.

    Parameters
    ----------
    paths : sequence of str or Path
        The files, in the order wanted.

    Returns
    -------
    list
        ``[X_0, Y_0, X_1, Y_1, ...]`` as :func:`read_xc_file` returns them.

    Raises
    ------
    MalformedDataError
        As :func:`read_xc_file`, or when the headers disagree.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from shared_datasets.multilabel_files import read_xc_files
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "train.txt").write_text("1 4 2\\n1 3:1\\n")
    >>> _ = (folder / "test.txt").write_text("1 4 2\\n0 0:1\\n")
    >>> X, Y, Xt, Yt = read_xc_files([folder / "train.txt", folder / "test.txt"])
    >>> Yt.toarray().tolist()
    [[1, 0]]
    """
    out: list[Any] = []
    first: tuple[Path, int, int] | None = None
    for path in paths:
        X, Y, (_, n_features, n_labels) = read_xc_file(path)
        if first is None:
            first = (Path(path), n_features, n_labels)
        elif (n_features, n_labels) != first[1:]:
            raise MalformedDataError(
                f"{path}: header declares {n_features} features and {n_labels} labels, but "
                f"{first[0]} declares {first[1]} and {first[2]}; the files do not belong together"
            )
        out += [X, Y]
    return out


def read_libsvm_multilabel(
    paths: Sequence[str | Path], *, n_features: int | None = None
) -> tuple[list[Any], np.ndarray]:
    """Read LIBSVM multi-label files (``l1,l2,... index:value ...``, one-based features).

    Returns ``([X_0, Y_0, X_1, Y_1, ...], classes)``: the files share their width
    (``n_features``, default the largest index) and their label columns, column ``j``
    being label ``classes[j]`` (the sorted distinct labels of all files together).

    Parameters
    ----------
    paths : sequence of str or Path
        The files (train, test, ...), read with a common width.
    n_features : int, optional
        Number of columns; default: the largest feature index over all files.

    Returns
    -------
    parts : list
        ``[X_0, Y_0, X_1, Y_1, ...]``: CSR float64 features and CSR int64 0/1 indicators.
    classes : ndarray of shape (n_labels,), int64
        The label of each indicator column.

    Raises
    ------
    MalformedDataError
        A line does not parse (file and line named), a label is not a non-negative
        integer or is repeated within a sample, a value is NaN or infinite.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from shared_datasets.multilabel_files import read_libsvm_multilabel
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a").write_text("0,4 1:1 3:2\\n4 2:1\\n")
    >>> _ = (folder / "b").write_text("2 1:3\\n")
    >>> (X, Y, Xt, Yt), classes = read_libsvm_multilabel([folder / "a", folder / "b"])
    >>> Y.toarray().tolist(), Yt.toarray().tolist(), classes.tolist()
    ([[1, 0, 1], [0, 0, 1]], [[0, 1, 0]], [0, 2, 4])
    """
    files = [Path(p) for p in paths]
    parts = read_svmlight(files, n_features=n_features, multilabel=True)
    for path, X in zip(files, parts[0::2]):
        _check_finite(path, sp.csr_matrix(X))
    # validate every file's labels on its own (errors name the right file and line) ...
    for path, label_sets in zip(files, parts[1::2]):
        labels_to_indicator(label_sets, path)
    # ... then give all files the common columns
    all_labels = [np.asarray(list(chain.from_iterable(s)), dtype=np.float64) for s in parts[1::2]]
    classes = np.unique(np.concatenate(all_labels)).astype(np.int64)
    out: list[Any] = []
    for path, X, label_sets in zip(files, parts[0::2], parts[1::2]):
        Y, _ = labels_to_indicator(label_sets, path, classes=classes)
        out += [sp.csr_matrix(X), Y]
    return out, classes
