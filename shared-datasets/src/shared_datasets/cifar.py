"""CIFAR-10's python batches read without unpickling.

The batches of ``cifar-10-python.tar.gz`` are Python 2 pickles (protocol 2) of one dict::

    {b"batch_label": bytes, b"labels": [int, ...], b"data": numpy uint8 array (N, 3072),
     b"filenames": [bytes, ...]}

``pickle.load`` would run whatever callables the stream names, so whoever can write to
the cache could run code at the next ``load("cifar10")``. Instead the opcode stream is
walked with :func:`pickletools.genops` (which only decodes opcodes) by a tiny stack
machine that builds inert records: a ``GLOBAL`` becomes a ``_Global(module, name)``
record that is never imported, a ``REDUCE`` a ``_Call`` record that is never called.
Only a small set of opcodes and three names (numpy's ``_reconstruct``, ``ndarray`` and
``dtype``, exactly as numpy pickles a uint8 array) are accepted, and the result must
have exactly the structure above with the expected number of rows; the pixel bytes are
then viewed with :func:`numpy.frombuffer`. Anything else raises
:class:`~shared_datasets.errors.MalformedDataError`.
"""

from __future__ import annotations

import io
import pickletools
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MalformedDataError

__all__ = ["read_cifar10_batch", "read_cifar10_archive", "CIFAR10_BATCH_ROWS", "CIFAR10_BATCHES"]

#: Images per batch file of the real archive (5 training batches + 1 test batch).
CIFAR10_BATCH_ROWS = 10_000
#: Member names inside the archive, training batches first.
CIFAR10_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_FOLDER = "cifar-10-batches-py"
_PIXELS = 3 * 32 * 32
_KEYS = {b"data", b"labels", b"batch_label", b"filenames"}
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
_STRINGS = {"SHORT_BINSTRING", "BINSTRING", "SHORT_BINBYTES", "BINBYTES"}
_INTS = {"BININT", "BININT1", "BININT2", "LONG1"}
_MEMO_PUT = {"BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"BINGET", "LONG_BINGET"}


class _Global:
    """A name the stream refers to; recorded, never imported."""

    def __init__(self, module: str, name: str) -> None:
        self.key = (module, name)


class _Call:
    """``func(*args)`` followed by ``__setstate__(state)``; recorded, never called."""

    def __init__(self, func: _Global, args: tuple[Any, ...]) -> None:
        self.func, self.args = func.key, args
        self.state: Any = None


class _Refused(Exception):
    pass


def _parse(stream: bytes) -> object:
    """Run the opcode stream through the inert stack machine; return the top object."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[Any, Any] = {}

    def pop_mark() -> list[Any]:
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    arg: Any  # the opcode's argument: str, bytes, int or None depending on the opcode
    for opcode, arg, position in pickletools.genops(io.BytesIO(stream)):
        name = opcode.name
        if name == "PROTO":
            if arg != 2:
                raise _Refused(f"pickle protocol {arg}, CIFAR-10's batches use protocol 2")
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "MARK":
            marks.append(len(stack))
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            top = tuple(stack[-n:]) if len(stack) >= n else None
            if top is None:
                raise _Refused(f"{name} on a stack of {len(stack)} at byte {position}")
            del stack[-n:]
            stack.append(top)
        elif name in _STRINGS:
            stack.append(arg.encode("latin-1") if isinstance(arg, str) else bytes(arg))
        elif name in _INTS:
            stack.append(int(arg))
        elif name == "NONE":
            stack.append(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
        elif name == "GLOBAL":
            module, _, attribute = arg.partition(" ")
            if (module, attribute) not in _ALLOWED_GLOBALS:
                raise _Refused(f"the stream names {module}.{attribute} at byte {position}")
            stack.append(_Global(module, attribute))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            if not isinstance(func, _Global) or not isinstance(args, tuple):
                raise _Refused(f"REDUCE of a non-name at byte {position}")
            stack.append(_Call(func, args))
        elif name == "BUILD":
            state, target = stack.pop(), stack[-1]
            if not isinstance(target, _Call) or target.state is not None:
                raise _Refused(f"BUILD on a non-object at byte {position}")
            target.state = state
        elif name == "APPEND":
            value = stack.pop()
            if not isinstance(stack[-1], list):
                raise _Refused(f"APPEND to a non-list at byte {position}")
            stack[-1].append(value)
        elif name == "APPENDS":
            items = pop_mark()
            if not isinstance(stack[-1], list):
                raise _Refused(f"APPENDS to a non-list at byte {position}")
            stack[-1].extend(items)
        elif name in ("SETITEM", "SETITEMS"):
            items = [stack.pop(-2), stack.pop()] if name == "SETITEM" else pop_mark()
            target = stack[-1]
            if not isinstance(target, dict) or len(items) % 2:
                raise _Refused(f"{name} on a non-dict at byte {position}")
            for key, value in zip(items[::2], items[1::2]):
                if not isinstance(key, bytes):
                    raise _Refused(f"dict key of type {type(key).__name__} at byte {position}")
                target[key] = value
        elif name in _MEMO_PUT:
            memo[arg] = stack[-1]
        elif name in _MEMO_GET:
            stack.append(memo[arg])
        elif name == "STOP":
            if len(stack) != 1 or marks:
                raise _Refused("the stream does not end with one object")
            return stack[0]
        else:
            raise _Refused(f"opcode {name} at byte {position} is not used by CIFAR-10's batches")
    raise _Refused("no STOP opcode")


def _is_uint8_dtype(value: object) -> bool:
    return (
        isinstance(value, _Call)
        and value.func == ("numpy", "dtype")
        and value.args in ((b"u1", False, True), (b"u1", 0, 1))
        and value.state == (3, b"|", None, None, None, -1, -1, 0)
    )


def _pixels(value: object, rows: int) -> np.ndarray:
    if not (
        isinstance(value, _Call)
        and value.func == ("numpy.core.multiarray", "_reconstruct")
        and len(value.args) == 3
        and isinstance(value.args[0], _Global)
        and value.args[0].key == ("numpy", "ndarray")
        and value.args[1:] == ((0,), b"b")
        and isinstance(value.state, tuple)
        and len(value.state) == 5
    ):
        raise _Refused("b'data' is not a pickled numpy array")
    version, shape, dtype, fortran_order, raw = value.state
    if version != 1 or fortran_order is not False or not _is_uint8_dtype(dtype):
        raise _Refused("b'data' is not a C-ordered uint8 array")
    if shape != (rows, _PIXELS):
        raise _Refused(f"b'data' has shape {shape}, expected ({rows}, {_PIXELS})")
    if not isinstance(raw, bytes) or len(raw) != rows * _PIXELS:
        raise _Refused(
            f"b'data' holds {len(raw) if isinstance(raw, bytes) else '?'} bytes, "
            f"expected {rows * _PIXELS}"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(rows, _PIXELS)


def read_cifar10_batch(
    stream: bytes, *, rows: int = CIFAR10_BATCH_ROWS, source: str = "batch"
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one CIFAR-10 python batch without unpickling.

    Parameters
    ----------
    stream : bytes
        The batch file's content.
    rows : int
        Number of images the batch must hold.
    source : str
        Named in error messages.

    Returns
    -------
    data : ndarray of shape (rows, 3072), uint8 (read-only view of ``stream``)
    labels : ndarray of shape (rows,), int64 in 0..9

    Raises
    ------
    MalformedDataError
        Anything but the exact structure above: other opcodes or names, other keys,
        wrong shapes or dtypes, labels outside 0..9, truncated streams.

    Examples
    --------
    >>> from shared_datasets.cifar import read_cifar10_batch
    >>> read_cifar10_batch(b"\\x80\\x02cos\\nsystem\\n.", source="evil")
    Traceback (most recent call last):
    ...
    shared_datasets.errors.MalformedDataError: evil: not a CIFAR-10 batch (the stream names os.system at byte 2); it was not unpickled. Delete the cached archive and fetch again.
    """
    try:
        entry = _parse(stream)
        if not isinstance(entry, dict) or not {b"data", b"labels"} <= set(entry) <= _KEYS:
            keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise _Refused(f"top object is {keys}, expected a dict with b'data' and b'labels'")
        data = _pixels(entry[b"data"], rows)
        labels = entry[b"labels"]
        if not (
            isinstance(labels, list)
            and len(labels) == rows
            and all(type(v) is int and 0 <= v <= 9 for v in labels)
        ):
            raise _Refused(f"b'labels' is not a list of {rows} integers in 0..9")
    except _Refused as error:
        message = str(error)
    except (ValueError, IndexError, KeyError, TypeError) as error:  # truncated or garbled stream
        message = f"{type(error).__name__}: {error}"
    else:
        return data, np.asarray(labels, dtype=np.int64)
    raise MalformedDataError(
        f"{source}: not a CIFAR-10 batch ({message}); it was not unpickled. "
        "Delete the cached archive and fetch again."
    )


def read_cifar10_archive(
    archive: Path, *, rows: int = CIFAR10_BATCH_ROWS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the six batches straight from ``cifar-10-python.tar.gz`` (nothing is extracted).

    Returns
    -------
    X_train (5 rows x 3072), y_train, X_test, y_test : float32 features 0..255, int64 labels
    """
    limit = rows * _PIXELS + 2**20  # pixels plus labels and file names
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                folder, _, name = member.name.partition("/")
                if folder != _FOLDER or name not in CIFAR10_BATCHES:
                    continue
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None or member.size > limit:
                    raise MalformedDataError(
                        f"{archive}: member {member.name} is not a regular file of at most {limit} bytes; "
                        "delete the archive and fetch again"
                    )
                batches[name] = read_cifar10_batch(
                    handle.read(), rows=rows, source=f"{archive}:{member.name}"
                )
    except (tarfile.TarError, OSError, EOFError) as error:
        raise MalformedDataError(
            f"{archive}: corrupt CIFAR-10 archive ({error}); delete it and fetch again"
        ) from error
    missing = [name for name in CIFAR10_BATCHES if name not in batches]
    if missing:
        raise MalformedDataError(
            f"{archive}: no {', '.join(missing)} under {_FOLDER}/; not the CIFAR-10 python archive"
        )
    train = [batches[name] for name in CIFAR10_BATCHES[:5]]
    X_test, y_test = batches["test_batch"]
    return (
        np.vstack([x for x, _ in train]).astype(np.float32),
        np.concatenate([y for _, y in train]),
        X_test.astype(np.float32),
        y_test,
    )
