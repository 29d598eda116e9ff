"""Where shared-datasets keeps and looks for data."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from .errors import CacheFolderError

__all__ = ["data_home", "ensure_cache_folder", "mlbench_data_dirs", "fashion_mnist_dirs"]

#: Environment variable overriding the cache folder (the workspace Makefile sets it to ``.data``).
HOME_ENV = "SHARED_DATASETS_HOME"


def data_home() -> Path:
    """Return the folder that holds downloaded and unpacked datasets.

    ``$SHARED_DATASETS_HOME`` when set, otherwise the user cache folder of
    ``platformdirs`` (``~/.cache/shared-datasets`` on Linux).

    Examples
    --------
    >>> from shared_datasets.paths import data_home
    >>> data_home().name != ""
    True
    """
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value).expanduser()
    return Path(platformdirs.user_cache_dir("shared-datasets"))


def ensure_cache_folder(folder: Path) -> Path:
    """Create cache folder ``folder`` (and its parents) and check that it is writable.

    Raises
    ------
    CacheFolderError
        ``folder`` or a parent is a file, or it cannot be created or written to; the
        message names the path and says what to do.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from shared_datasets.paths import ensure_cache_folder
    >>> file = Path(tempfile.mkdtemp()) / "home"
    >>> _ = file.write_text("")
    >>> ensure_cache_folder(file / "usps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shared_datasets.errors.CacheFolderError: cannot use .../home/usps as a cache folder: .../home is a file, not a folder; ...
    """
    folder = Path(folder)
    hint = (
        f"set {HOME_ENV} to a writable folder (it is {os.environ.get(HOME_ENV)!r}), "
        "or fix the folder's permissions"
    )
    for parent in [folder, *folder.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise CacheFolderError(
                    f"cannot use {folder} as a cache folder: {parent} is a file, "
                    f"not a folder; move it away or {hint}"
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CacheFolderError(
            f"cannot create cache folder {folder} ({error.strerror or error}); {hint}"
        ) from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CacheFolderError(f"cache folder {folder} is not writable; {hint}")
    return folder


_MLBENCH_IN_DEB = Path("debian", "mlbench", "usr", "lib", "R", "site-library", "mlbench", "data")


def mlbench_data_dirs() -> list[Path]:
    """Candidate folders holding the ``.rda`` files of Debian's ``r-cran-mlbench``, in search order.

    1. ``data_home()/debian/mlbench/...`` (where ``tools/install-offline-data.sh`` unpacks it);
    2. ``.data/debian/mlbench/...`` in the current folder or its nearest parent that has
       one (a workspace checkout whose ``make setup`` ran, when ``$SHARED_DATASETS_HOME``
       is not exported, e.g. running pytest by hand in a package folder);
    3. ``/usr/lib/R/site-library/mlbench/data`` (``r-cran-mlbench`` installed with apt).
    """
    candidates = [data_home() / _MLBENCH_IN_DEB]
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / ".data" / _MLBENCH_IN_DEB).is_dir():
            candidates.append(folder / ".data" / _MLBENCH_IN_DEB)
            break
    candidates.append(Path("/usr/lib/R/site-library/mlbench/data"))
    return candidates


def fashion_mnist_dirs() -> list[Path]:
    """Candidate folders holding Fashion-MNIST's four ``*-idx?-ubyte.gz`` files, in search order."""
    return [
        Path("/usr/share/datasets/fashion-mnist"),  # Debian's dataset-fashion-mnist
        data_home() / "fashion-mnist",
    ]
