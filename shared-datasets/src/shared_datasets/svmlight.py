"""svmlight/LIBSVM and multi-label (LSHTC) files, read with scikit-learn's loader.

scikit-learn's parser is fast but its errors do not say where the problem is; on a
parse error we scan the file once in Python to name the first offending line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_svmlight_files

from .errors import MalformedDataError

__all__ = ["read_svmlight", "locate_svmlight_error"]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
_LABELS = re.compile(rf"^(?:{_NUMBER})(?:,(?:{_NUMBER}))*$", re.IGNORECASE)
_MAX_INDEX = 2**31 - 1  # scikit-learn's parser holds indices in a C int
_FEATURE = re.compile(rf"^\d+:(?:{_NUMBER})$", re.IGNORECASE)


def locate_svmlight_error(
    path: Path, *, multilabel: bool = False, zero_based: bool | str = False
) -> tuple[int, str] | None:
    """Return ``(line_number, reason)`` of the first malformed line of ``path``, or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shared_datasets.svmlight import locate_svmlight_error
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.svm"
    >>> _ = p.write_text("1 1:0.5 3:1\\n2 2:x\\n")
    >>> locate_svmlight_error(p)
    (2, "feature '2:x' is not index:value")
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.split(b"#", 1)[0].decode("ascii", errors="replace").strip()
            if not line:
                continue
            tokens = line.split()
            first, features = tokens[0], tokens[1:]
            if ":" in first and not first.startswith("qid"):
                if multilabel:  # a document without labels: "  1:0.5 ..."
                    features = tokens
                else:
                    return number, f"line starts with {first!r}, expected a label"
            elif not _LABELS.match(first) or ("," in first and not multilabel):
                return number, f"label {first!r} is not a number" + (
                    "" if multilabel else " (multi-label file? pass multilabel=True)"
                )
            previous = -1
            for token in features:
                if token.startswith("qid:"):
                    continue
                if not _FEATURE.match(token):
                    return number, f"feature {token!r} is not index:value"
                index = int(token.split(":", 1)[0])
                if index > _MAX_INDEX:
                    return (
                        number,
                        f"feature index {index} exceeds {_MAX_INDEX}, the largest the reader supports",
                    )
                if index == 0 and zero_based is False:
                    return number, "feature index 0 in a one-based file"
                if index <= previous:
                    return number, f"feature indices not increasing ({previous} then {index})"
                previous = index
    return None


def read_svmlight(
    paths: Iterable[str | Path],
    *,
    n_features: int | None = None,
    multilabel: bool = False,
    zero_based: bool | str = False,
    dtype: npt.DTypeLike = np.float64,
) -> list[Any]:
    """Read one or more svmlight files with a common number of features.

    Parameters
    ----------
    paths : list of path
        Files read together (train, test): their matrices get the same number of columns.
    n_features : int or None
        Number of columns; ``None`` takes the largest index over all files.
    multilabel : bool
        Labels are comma-separated lists (LSHTC); they come back as tuples.
    zero_based : bool or "auto"
        LIBSVM files are one-based (``False``).
    dtype : dtype of the CSR values

    Returns
    -------
    list
        ``[X_0, y_0, X_1, y_1, ...]`` as scikit-learn's ``load_svmlight_files``.

    Raises
    ------
    MalformedDataError
        Naming the file and, where found, the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shared_datasets.svmlight import read_svmlight
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a").write_text("1 1:1 4:2\\n2 2:1\\n")
    >>> _ = (folder / "b").write_text("2 1:3\\n")
    >>> X, y, Xt, yt = read_svmlight([folder / "a", folder / "b"])
    >>> X.shape, Xt.shape
    ((2, 4), (1, 4))
    """
    files = [Path(p) for p in paths]
    try:
        arrays: list[Any] = load_svmlight_files(
            [str(p) for p in files],
            n_features=n_features,
            multilabel=multilabel,
            zero_based=zero_based,
            dtype=dtype,
        )
        return arrays  # X, y of each file in turn
    except (ValueError, OverflowError) as error:  # OverflowError: an index beyond a C int
        for path in files:
            found = locate_svmlight_error(path, multilabel=multilabel, zero_based=zero_based)
            if found is not None:
                line, reason = found
                raise MalformedDataError(
                    f"{path}:{line}: malformed svmlight line: {reason} ({error})"
                ) from error
        where = ", ".join(str(p) for p in files)
        raise MalformedDataError(f"{where}: cannot read as svmlight ({error})") from error
