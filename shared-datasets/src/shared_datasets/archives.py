"""Safe extraction of downloaded archives (tar, tar.gz/bz2/xz, zip).

Every member is checked before anything is written: absolute paths, ``..`` components,
links, device files and members that would land outside the target folder are
refused with :class:`UnsafeArchiveError`. Extraction goes to a temporary folder next to
the target that is renamed into place at the end, so an interrupted extraction never
leaves a half-filled target folder.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .errors import MalformedDataError, UnsafeArchiveError

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
            raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a link; refusing to extract")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{archive}: member {member.name!r} is a device/fifo; refusing to extract")


def safe_extract(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into folder ``target`` (created; replaced atomically if absent).

    Parameters
    ----------
    archive : path
        A ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.zip`` file.
    target : path
        Folder to create. If it already exists the archive is assumed extracted and
        nothing is done.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    UnsafeArchiveError
        A member is absolute, contains ``..``, or is a link/device.
    MalformedDataError
        The file is not a readable archive.

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
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    check_member_name(info.filename, archive)
                    # the top 4 bits of external_attr hold the Unix file type; 0o12 = symlink
                    if (info.external_attr >> 28) == 0o12:
                        raise UnsafeArchiveError(f"{archive}: member {info.filename!r} is a link; refusing to extract")
                zf.extractall(staging)
        else:
            try:
                tar = tarfile.open(archive)
            except (tarfile.TarError, OSError, EOFError) as error:
                raise MalformedDataError(f"{archive}: not a readable tar or zip archive ({error})") from error
            with tar:
                _check_tar(archive, tar)
                # the "data" filter repeats these checks inside tarfile (Python >= 3.11.4)
                kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(staging, **kwargs)
        os.replace(staging, target)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
        raise MalformedDataError(f"{archive}: corrupt archive ({error}); delete it and fetch again") from error
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
