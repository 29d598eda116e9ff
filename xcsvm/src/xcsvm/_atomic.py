"""Atomic file writes: a temporary in the target folder, then :func:`os.replace`.

The temporary is named ``.<target>.xcsvm-<pid>-<random>.tmp``. A write that is
killed leaves it behind; the next write into the same folder removes every such
file whose process is gone (a running writer's temporary is kept). The written
file gets the mode an ordinary ``open`` would give it (``0o666 & ~umask``), not
``mkstemp``'s 0600.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "sweep_stale_temporaries"]

_TEMPORARY = re.compile(r"^\..+\.xcsvm-(\d+)-[^.]+\.tmp$")


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def sweep_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of interrupted xcsvm writes in ``directory``; return them."""
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _TEMPORARY.match(name)
        if (
            match is None
            or int(match.group(1)) == os.getpid()
            or _process_alive(int(match.group(1)))
        ):
            continue
        path = Path(directory) / name
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[IO[Any]], object],
    *,
    binary: bool = True,
    what: str = "file",
) -> Path:
    """Write ``path`` atomically: ``write(stream)`` fills a temporary moved into place.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist (the message names the folder).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot write {what} {path}: folder {directory} does not exist; create it or choose another path"
        )
    sweep_stale_temporaries(directory)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.xcsvm-{os.getpid()}-", suffix=".tmp", dir=directory
        )
    except OSError as error:
        raise OSError(
            error.errno, f"cannot write {what} {path} into folder {directory}: {error.strerror}"
        ) from error
    try:
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb" if binary else "w") as stream:
            write(stream)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        # the error names the hidden temporary; the user knows only the target and its folder
        raise OSError(
            error.errno,
            f"cannot write {what} {path} (folder {directory}): {error.strerror or error}",
        ) from error
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path
