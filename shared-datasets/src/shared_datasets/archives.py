"""Safe extraction of downloaded archives (tar, tar.gz/bz2/xz, zip).

Every member is checked before anything is written: absolute paths, ``..`` components,
links, device files and members that would land outside the target folder are
refused with :class:`UnsafeArchiveError`. Extraction goes to a temporary folder next to
the target that is renamed into place at the end, so an interrupted extraction never
leaves a half-filled target folder. The declared sizes of all members must fit on the
disk (or under ``max_bytes``) before anything is written, and every failure of a damaged
archive (truncated, bit-flipped, unsupported compression, encrypted) ends in
:class:`MalformedDataError`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from .atomic import apply_umask, sweep_partials
from .errors import CacheFolderError, DatasetError, MalformedDataError, UnsafeArchiveError
from .memory import format_bytes

__all__ = ["safe_extract", "check_member_name"]


def check_member_name(name: str, archive: Path) -> None:
    """Refuse a member name that is absolute or climbs out with ``..``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from shared_datasets.archives import check_member_name
    >>> check_member_name("data/batch_1", Path("a.tar"))
    >>> check_member_name("../etc/passwd", Path("a.tar"))
    Traceback (most recent call last):
    ...
    shared_datasets.errors.UnsafeArchiveError: a.tar: member '../etc/passwd' would be written outside the extraction folder; refusing to extract
    """
    normalised = name.replace("\\", "/")
    path = PurePosixPath(normalised)
    if (
        normalised.startswith("/")
        or (len(normalised) > 1 and normalised[1] == ":")  # C:/...
        or ".." in path.parts
    ):
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} would be written outside the extraction folder; refusing to extract"
        )


def _check_tar(archive: Path, tar: tarfile.TarFile) -> None:
    for member in tar.getmembers():
        check_member_name(member.name, archive)
        if member.issym() or member.islnk():
            raise UnsafeArchiveError(
                f"{archive}: member {member.name!r} is a link; refusing to extract"
            )
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(
                f"{archive}: member {member.name!r} is a device/fifo; refusing to extract"
            )


_COMPRESSED: dict[bytes, Callable[..., io.BufferedIOBase]] = {
    b"\x1f\x8b": gzip.open,
    b"BZh": bz2.open,
    b"\xfd7zXZ\x00": lzma.open,
}


def _verify_compressed_stream(archive: Path) -> None:
    """Read a compressed tar to its end so the stream's checksums (gzip CRC-32 and size,
    bzip2 block CRCs, xz check) are verified: tarfile stops at the end-of-archive marker
    and would not notice a flipped bit that still decompresses."""
    with open(archive, "rb") as f:
        head = f.read(6)
    for magic, opener in _COMPRESSED.items():
        if head.startswith(magic):
            with opener(archive, "rb") as stream:
                while stream.read(2**20):
                    pass
            return


def _check_total_size(archive: Path, total: int, max_bytes: int) -> None:
    if total > max_bytes:
        raise UnsafeArchiveError(
            f"{archive}: members declare {format_bytes(total)} in all, more than the "
            f"{format_bytes(max_bytes)} allowed (free disk space); refusing to extract"
        )


def safe_extract(archive: Path, target: Path, *, max_bytes: int | None = None) -> Path:
    """Extract ``archive`` into folder ``target`` (created; replaced atomically if absent).

    Parameters
    ----------
    archive : path
        A ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.zip`` file.
    target : path
        Folder to create. If it already exists the archive is assumed extracted and
        nothing is done.
    max_bytes : int or None
        Refuse archives whose members declare more bytes in all; default: the free
        space of the target's disk.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    UnsafeArchiveError
        A member is absolute, contains ``..``, or is a link/device; the declared sizes
        exceed ``max_bytes``.
    MalformedDataError
        The file is not a readable archive, or is damaged.

    Examples
    --------
    >>> import io, tarfile, tempfile
    >>> from pathlib import Path
    >>> from shared_datasets.archives import safe_extract
    >>> folder = Path(tempfile.mkdtemp())
    >>> with tarfile.open(folder / "a.tar", "w") as tar:
    ...     info = tarfile.TarInfo("x/hello.txt"); info.size = 2
    ...     tar.addfile(info, io.BytesIO(b"hi"))
    >>> (safe_extract(folder / "a.tar", folder / "out") / "x" / "hello.txt").read_text()
    'hi'
    """
    archive, target = Path(archive), Path(target)
    if target.is_dir():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CacheFolderError(
            f"cannot create {target.parent} ({error}); set SHARED_DATASETS_HOME "
            "to a writable folder"
        ) from error
    if max_bytes is None:
        max_bytes = shutil.disk_usage(target.parent).free
    sweep_partials(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    apply_umask(staging, folder=True)  # mkdtemp's 0700 would become the target's mode
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:
                    check_member_name(info.filename, archive)
                    # the top 4 bits of external_attr hold the Unix file type; 0o12 = symlink
                    if (info.external_attr >> 28) == 0o12:
                        raise UnsafeArchiveError(
                            f"{archive}: member {info.filename!r} is a link; refusing to extract"
                        )
                _check_total_size(archive, sum(info.file_size for info in infos), max_bytes)
                zf.extractall(staging)
        else:
            _verify_compressed_stream(archive)
            try:
                tar = tarfile.open(archive)  # noqa: SIM115 - closed by `with tar:` below
            except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as error:
                raise MalformedDataError(
                    f"{archive}: not a readable tar or zip archive ({error})"
                ) from error
            with tar:
                _check_tar(archive, tar)
                _check_total_size(archive, sum(m.size for m in tar.getmembers()), max_bytes)
                # the "data" filter repeats these checks inside tarfile (Python >= 3.11.4)
                kwargs: dict[str, Any] = (
                    {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                )
                tar.extractall(staging, **kwargs)
        staging.rename(target)
    except DatasetError:
        raise
    except PermissionError as error:
        raise CacheFolderError(
            f"cannot write into {target.parent} ({error}); make it writable or set "
            "SHARED_DATASETS_HOME to a writable folder"
        ) from error
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
        zlib.error,
        lzma.LZMAError,
        RuntimeError,
        NotImplementedError,
        ValueError,
        OverflowError,
    ) as error:
        # damaged data: CRC mismatch, truncated stream, encrypted or unsupported zip member, ...
        raise MalformedDataError(
            f"{archive}: corrupt archive ({type(error).__name__}: {error}); delete it and fetch again"
        ) from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
