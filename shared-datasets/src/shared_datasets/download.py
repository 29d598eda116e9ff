"""Download one file into the cache with pooch: hash check, progress bar, atomic
decompression, and typed errors that say what to do.

pooch streams into a temporary file in the cache folder and moves it into place only
after the hash matched, so an interrupted or rejected download leaves nothing behind.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import shutil
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pooch

from .atomic import apply_umask, partial_prefix, sweep_partials
from .errors import (
    CacheFolderError,
    CacheRepairWarning,
    ChecksumMismatchError,
    DownloadError,
    MalformedDataError,
    NoNetworkError,
)
from .memory import format_bytes
from .paths import ensure_cache_folder

__all__ = ["RemoteFile", "UnverifiedDownloadWarning", "fetch_file", "sha256_of"]

_DECOMPRESSORS: dict[str, Callable[..., io.BufferedIOBase]] = {
    "bz2": bz2.open,
    "gz": gzip.open,
    "xz": lzma.open,
}
# An empty or headerless file would "decompress" to nothing without an error.
_MAGIC = {"bz2": b"BZh", "gz": b"\x1f\x8b", "xz": b"\xfd7zXZ\x00"}


class UnverifiedDownloadWarning(UserWarning):
    """A file was downloaded for which the registry holds no checksum."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file.

    Attributes
    ----------
    url : str
    known_hash : str or None
        pooch syntax: ``"sha256:<hex>"`` or ``"md5:<hex>"``; ``None`` where no checksum
        is known (the download is then checked only by decompressing/parsing it, and a
        :class:`UnverifiedDownloadWarning` says so and prints the SHA-256 to pin).
    hash_source : str
        Where the checksum comes from.
    decompress : {None, "bz2", "gz", "xz"}
        Decompress once after download; the decompressed file is what gets read.
    filename : str or None
        Name in the cache; defaults to the URL's last path component.

    Examples
    --------
    >>> from shared_datasets.download import RemoteFile
    >>> RemoteFile("https://example.org/data/usps.bz2", None, decompress="bz2").local_name
    'usps'
    """

    url: str
    known_hash: str | None
    hash_source: str = ""
    decompress: str | None = None
    filename: str | None = None

    @property
    def download_name(self) -> str:
        return self.filename or Path(urlparse(self.url).path).name

    @property
    def local_name(self) -> str:
        name = self.download_name
        if self.decompress:
            suffix = "." + self.decompress
            return name[: -len(suffix)] if name.endswith(suffix) else name + ".out"
        return name


def sha256_of(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def looks_like_html(path: Path) -> bool:
    """True when the file starts like an HTML page (what a server answering 200 with an
    error or login page sends instead of the data).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shared_datasets.download import looks_like_html
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "usps"
    >>> _ = p.write_bytes(b"\\n  <!DOCTYPE html><html><body>Moved</body></html>")
    >>> looks_like_html(p)
    True
    """
    with open(path, "rb") as f:
        head = f.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _decompress(source: Path, target: Path, method: str, *, max_bytes: int | None = None) -> None:
    """Decompress ``source`` into ``target`` through a temporary file + os.replace.

    ``max_bytes`` (default: the free space of the target's disk) bounds the output, so a
    decompression bomb ends in :class:`MalformedDataError` instead of a full disk.
    """
    if max_bytes is None:
        max_bytes = shutil.disk_usage(target.parent).free
    with open(source, "rb") as f:
        head = f.read(len(_MAGIC[method]))
    if head != _MAGIC[method]:
        raise MalformedDataError(
            f"{source}: cannot {method}-decompress (it starts with {head!r}, not the .{method} "
            f"header {_MAGIC[method]!r}); the download is corrupt or not a .{method} file. "
            "It was removed; run the fetch again."
        )
    fd, tmp = tempfile.mkstemp(prefix=partial_prefix(target), dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, _DECOMPRESSORS[method](source, "rb") as compressed:
            written = 0
            for block in iter(lambda: compressed.read(2**20), b""):
                written += len(block)
                if written > max_bytes:
                    raise MalformedDataError(
                        f"{source}: decompresses to more than {format_bytes(max_bytes)} (the free disk "
                        f"space); refusing to fill the disk. It was removed; free space or fetch again."
                    )
                out.write(block)
        apply_umask(Path(tmp))
        os.replace(tmp, target)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as error:
        if isinstance(error, MalformedDataError):
            raise
        raise MalformedDataError(
            f"{source}: cannot {method}-decompress ({error}); the download is corrupt or not a "
            f".{method} file. It was removed; run the fetch again."
        ) from error
    finally:
        Path(tmp).unlink(missing_ok=True)


def fetch_file(remote: RemoteFile, folder: Path, *, progressbar: bool = False) -> Path:
    """Return the local path of ``remote`` in ``folder``, downloading it first if needed.

    A file already in ``folder`` is used without any network request (its checksum is
    re-verified when one is known).

    Raises
    ------
    NoNetworkError
        The server could not be reached; the message names the file to place by hand.
    ChecksumMismatchError
        The download's checksum differs from the registry's; nothing was kept.
    DownloadError
        HTTP error (404, ...) or interrupted transfer; nothing partial was kept.
    MalformedDataError
        Decompression failed; the corrupt download was removed.

    Examples
    --------
    >>> from pathlib import Path
    >>> from shared_datasets.download import RemoteFile, fetch_file
    >>> fetch_file(RemoteFile("http://127.0.0.1:9/x.txt", None), Path("/nonexistent/folder")) # doctest: +SKIP
    """
    import requests

    folder = ensure_cache_folder(Path(folder))
    sweep_partials(folder)
    downloaded = folder / remote.download_name
    final = folder / remote.local_name
    if remote.decompress and final.is_file() and not downloaded.exists():
        return final  # decompressed earlier; the archive copy may have been deleted to save space
    was_present = downloaded.is_file()
    stamp_before = downloaded.stat().st_mtime_ns if was_present else None
    hint = f"download {remote.url} by other means and place it at {downloaded}" + (
        " (still compressed)" if remote.decompress else ""
    )
    try:
        pooch.retrieve(
            remote.url,
            known_hash=remote.known_hash,
            fname=remote.download_name,
            path=folder,
            progressbar=progressbar,
        )
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise ChecksumMismatchError(
            f"{remote.url}: checksum mismatch ({error}). The downloaded file was discarded. "
            f"If the server's file changed on purpose, update the registry's hash; otherwise retry."
        ) from error
    except requests.exceptions.ConnectionError as error:
        message = str(error)
        if "Connection broken" in message or "IncompleteRead" in message:
            raise DownloadError(
                f"{remote.url}: transfer interrupted ({error}); nothing was kept, retry"
            ) from error
        raise NoNetworkError(
            f"cannot reach {remote.url} ({type(error).__name__}); {hint}"
        ) from error
    except requests.exceptions.HTTPError as error:
        raise DownloadError(f"{remote.url}: {error}; {hint}") from error
    except requests.exceptions.RequestException as error:  # ChunkedEncodingError, Timeout, ...
        raise DownloadError(
            f"{remote.url}: download failed or was interrupted ({type(error).__name__}: {error}); "
            f"nothing was kept in {folder}; retry, or {hint}"
        ) from error
    except PermissionError as error:  # the folder or an old file in it is not ours to write
        raise CacheFolderError(
            f"cannot write {downloaded} ({error.strerror}); make {folder} writable or set "
            "SHARED_DATASETS_HOME to a writable folder"
        ) from error
    fresh = not was_present or downloaded.stat().st_mtime_ns != stamp_before
    if fresh:
        apply_umask(downloaded)  # pooch's temporary file was created 0600
    if remote.known_hash is None and looks_like_html(downloaded):
        downloaded.unlink()
        if not fresh:  # left by an earlier version; fetch it again
            warnings.warn(
                f"{downloaded} is an HTML page, not the data; removed it and fetching again.",
                CacheRepairWarning,
                stacklevel=2,
            )
            return fetch_file(remote, folder, progressbar=progressbar)
        raise DownloadError(
            f"{remote.url}: the server answered with an HTML page (an error or login page?) instead of "
            f"the data; nothing was kept. Retry later, or {hint}"
        )
    if remote.known_hash is None and not was_present:
        warnings.warn(
            f"{remote.download_name}: no checksum is registered for {remote.url}, so the download "
            f"was checked only by reading it. Its SHA-256 is {sha256_of(downloaded)}; "
            f"pin it in shared_datasets.remote to verify future downloads.",
            UnverifiedDownloadWarning,
            stacklevel=2,
        )
    if not remote.decompress:
        return downloaded
    replaced = was_present and fresh
    if replaced or not final.is_file():  # pooch replaced a stale download: decompress it again
        try:
            _decompress(downloaded, final, remote.decompress)
        except MalformedDataError:
            downloaded.unlink(missing_ok=True)
            raise
    return final
