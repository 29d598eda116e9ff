"""Atomic writes into the cache: a temporary file next to the target, renamed into place.

Two details the plain ``mkstemp`` + ``os.replace`` recipe gets wrong:

* ``mkstemp`` creates files with mode 0600 (and ``mkdtemp`` folders with 0700), so the
  renamed file would be unreadable by the group even where the umask allows it;
  :func:`apply_umask` gives it the mode a plain ``open(path, "w")`` would have.
* a write killed half-way leaves its temporary file behind; :func:`sweep_partials`
  removes such leftovers on the next write to the same folder. Only files and folders
  named like our temporaries (``.NAME.partial-XXXXXXXX``, and pooch's ``tmpXXXXXXXX``)
  that have not been modified for :data:`STALE_AFTER_SECONDS` are removed, so a
  concurrent writer's file is left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

__all__ = [
    "umask",
    "apply_umask",
    "sweep_partials",
    "write_atomic",
    "partial_prefix",
    "STALE_AFTER_SECONDS",
]

#: A temporary file untouched for this long belongs to an interrupted write.
STALE_AFTER_SECONDS = 600.0
# mkstemp's random part: 8 characters of [a-z0-9_]
_PARTIAL = re.compile(r"^(?:\..+\.partial-|tmp)[a-z0-9_]{8}$")


def partial_prefix(target: Path) -> str:
    """Prefix of the temporary files that become ``target``: ``.NAME.partial-``."""
    return f".{Path(target).name}.partial-"


def umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux >= 4.7)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o022)  # elsewhere: swap and restore
    os.umask(current)
    return current


def apply_umask(path: Path, *, folder: bool = False) -> None:
    """Give ``path`` the mode ``open()``/``mkdir()`` would have created it with (0666/0777 & ~umask)."""
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                with contextlib.suppress(OSError):  # removed meanwhile: it cannot be newer
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def sweep_partials(folder: Path, *, older_than: float | None = None) -> list[Path]:
    """Remove temporaries of interrupted writes in ``folder``; return what was removed.

    Examples
    --------
    >>> import os, tempfile
    >>> from pathlib import Path
    >>> from shared_datasets.atomic import sweep_partials
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".data.partial-abcd1234").write_bytes(b"half")
    >>> os.utime(folder / ".data.partial-abcd1234", (0, 0))   # long ago
    >>> [p.name for p in sweep_partials(folder)]
    ['.data.partial-abcd1234']
    """
    limit = time.time() - (STALE_AFTER_SECONDS if older_than is None else older_than)
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for path in entries:
        if not _PARTIAL.match(path.name):
            continue
        try:
            if _newest_mtime(path) > limit:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``, with the
    umask's mode, after sweeping stale temporaries of the folder.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from shared_datasets.atomic import write_atomic
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(target, b"hi"); target.read_bytes()
    b'hi'
    """
    path = Path(path)
    sweep_partials(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=partial_prefix(path), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        apply_umask(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
