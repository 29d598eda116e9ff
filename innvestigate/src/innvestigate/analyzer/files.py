"""Analyzer directories: written atomically by ``analyzer.save``, read back with every field checked.

``analyzer.save(path)`` writes a directory ``path`` holding

* ``analyzer.json``: ``{"format": 1, "analyzer": <registry name>, "class": <class name>,
  "params": {<parameter>: <JSON value>}}`` (directories written before the ``format`` key
  existed load as format 1);
* ``arrays.npz``: ``param:<name>`` arrays (parameters given as arrays) and ``state:<name>``
  arrays (learned state, e.g. PatternNet's patterns), plain numeric ``.npy`` members;
* ``model.keras`` (unless ``save_model=False``).

Reading trusts nothing: the JSON's structure and the type of every known parameter are
checked before anything is constructed, arrays are read without pickle after their
headers were checked against the zip member sizes (numeric dtypes only, finite values),
and the analyzer built from the file must reproduce the stored parameters and arrays
exactly. Every failure is one :class:`~innvestigate.exceptions.AnalyzerFileError`.

Replacement is atomic on Linux: the new directory is written next to ``path`` and swapped
with the old one by ``renameat2(RENAME_EXCHANGE)`` (Linux 3.15+, glibc 2.28+; local file
systems, tmpfs, NFS servers that support it), so ``path`` holds the old or the new analyzer
at every moment. Where the exchange is not available (another OS, an old C library, a file
system that refuses it) the old directory is renamed away and the new one renamed in: two
renames, between which ``path`` is briefly absent. Temporary directories of an interrupted
save (``.innvestigate-save-*``, ``.innvestigate-old-*``) are removed by the next save into
the same folder once their writer has stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import inspect
import json
import math
import os
import secrets
import shutil
import sys
import time
import zipfile

import numpy as np

from innvestigate.exceptions import AnalyzerFileError

__all__ = ["write_analyzer_dir", "read_analyzer_dir", "FORMAT"]

#: the version of the directory layout written by :func:`write_analyzer_dir`
FORMAT = 1
_TEMP_PREFIXES = (".innvestigate-save-", ".innvestigate-old-")
#: temporaries of a writer that cannot be identified are removed once this old (seconds)
_STALE_AFTER = 600.0
_MAX_JSON_BYTES = 16 * 2**20

# The JSON type each known parameter may have ("number": int or float, never bool).
_NUMBER, _INT, _BOOL, _STR, _NONE, _LIST, _DICT = (
    "number",
    "int",
    "bool",
    "str",
    "null",
    "list",
    "dict",
)
_PARAM_TYPES = {
    "neuron_selection_mode": (_STR,),
    "output_index": (_INT, _NONE),
    "postprocess": (_STR, _NONE),
    "reference_inputs": (_NUMBER,),
    "reference_value": (_NUMBER,),
    "steps": (_INT,),
    "batch_size": (_INT,),
    "augment_by_n": (_INT,),
    "n_samples": (_INT,),
    "noise_scale": (_NUMBER,),
    "stddev": (_NUMBER,),
    "kernel_width": (_NUMBER,),
    "ridge_alpha": (_NUMBER,),
    "epsilon": (_NUMBER,),
    "alpha": (_NUMBER,),
    "beta": (_NUMBER,),
    "gamma": (_NUMBER,),
    "low": (_NUMBER, _LIST),
    "high": (_NUMBER, _LIST),
    "bias": (_BOOL,),
    "random_state": (_INT, _NONE),
    "segmentation": (_STR, _NONE),
    "segmentation_params": (_DICT,),
    "patch_size": (_LIST,),
    "strides": (_LIST,),
    "pattern_type": (_STR,),
    "bn_layer_rule": (_STR, _DICT, _NONE),
    "merge_layer_rule": (_STR, _DICT, _NONE),
    "rule": (_STR, _DICT, _NONE),
    "input_layer_rule": (_STR, _DICT, _LIST, _NONE),
    "rules": (_LIST, _NONE),
}
# Parameters whose JSON lists are tuples for the constructor.
_TUPLE_PARAMS = ("patch_size", "strides")


def _json_kind(value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return _STR
    if isinstance(value, list):
        return _LIST
    return _DICT


def _kind_allowed(kind: str, allowed) -> bool:
    return kind in allowed or (_NUMBER in allowed and kind in (_INT, "float"))


# -- writing ----------------------------------------------------------------------------------
def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_stale_temporaries(folder: str, now: float | None = None) -> list[str]:
    """Removes temporary directories of interrupted saves in ``folder``; returns their names.

    A temporary is removed when the process that made it (its id is in the name) is no
    longer running, or, for names without a process id, when it is older than 10 minutes.
    Temporaries of a save in progress are kept.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(_TEMP_PREFIXES):
            continue
        prefix = next(p for p in _TEMP_PREFIXES if entry.name.startswith(p))
        rest = entry.name[len(prefix) :]  # "<pid>-<token>" (or mkdtemp's suffix, before 3.0.0a2)
        pid_text = rest.split("-", 1)[0]
        try:
            if pid_text.isdigit() and "-" in rest:
                stale = int(pid_text) != os.getpid() and not _process_alive(int(pid_text))
            else:
                stale = now - entry.stat(follow_symlinks=False).st_mtime > _STALE_AFTER
        except OSError:
            continue
        if stale:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def _temp_name(folder: str, prefix: str) -> str:
    return os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(6)}")


def _make_temp_dir(folder: str) -> str:
    # os.mkdir applies the umask (mkdtemp would give 0700 whatever the umask says).
    while True:
        path = _temp_name(folder, _TEMP_PREFIXES[0])
        try:
            os.mkdir(path, 0o777)
            return path
        except FileExistsError:
            continue


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2 = None


def _load_renameat2():
    global _renameat2
    if _renameat2 is None:
        function = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                function = libc.renameat2  # glibc >= 2.28
                function.argtypes = [
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_uint,
                ]
                function.restype = ctypes.c_int
            except (OSError, AttributeError):
                function = False
        _renameat2 = function
    return _renameat2 or None


def exchange_paths(a: str, b: str) -> bool:
    """Swaps the directory entries ``a`` and ``b`` in one atomic step.

    Returns False where the system offers no atomic exchange (then nothing was changed);
    raises ``OSError`` for other failures.
    """
    function = _load_renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, f"cannot exchange {a!r} and {b!r}: {os.strerror(err)}")


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_analyzer_dir(path: str, text: str, arrays: dict, save_model=None) -> None:
    """Writes an analyzer directory at ``path`` (see the module docstring), replacing an older one.

    ``save_model(file)`` writes ``model.keras`` when given.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot save the analyzer to {path!r}: the folder {folder!r} does not exist; create it first."
        )
    if os.path.lexists(path):
        if not os.path.isdir(path) or os.path.islink(path):
            raise FileExistsError(
                f"Cannot save the analyzer to {path!r}: it exists and is not a directory; remove it or "
                "choose another path."
            )
        if os.listdir(path) and not os.path.isfile(os.path.join(path, "analyzer.json")):
            raise FileExistsError(
                f"Cannot save the analyzer to {path!r}: the directory exists and holds no analyzer "
                "(no analyzer.json); it is not replaced. Choose another path or empty it."
            )
    sweep_stale_temporaries(folder)
    tmp = _make_temp_dir(folder)
    try:
        with open(os.path.join(tmp, "analyzer.json"), "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with open(os.path.join(tmp, "arrays.npz"), "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        if save_model is not None:
            save_model(os.path.join(tmp, "model.keras"))
            _fsync(os.path.join(tmp, "model.keras"))
        if os.path.lexists(path):
            if not exchange_paths(tmp, path):
                # Fallback without an atomic exchange: path is absent between the two renames.
                old = _temp_name(folder, _TEMP_PREFIXES[1])
                os.rename(path, old)
                try:
                    os.rename(tmp, path)
                except BaseException:
                    os.rename(old, path)
                    raise
                tmp = old
            # tmp now holds the replaced analyzer.
        else:
            os.rename(tmp, path)
            tmp = None
        # Some file systems cannot fsync a directory.
        with contextlib.suppress(OSError):
            _fsync(folder)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


# -- reading ----------------------------------------------------------------------------------
def _refuse_constant(name):
    raise ValueError(f"the number {name} is not allowed")


_MAX_JSON_DEPTH = 16


def _check_finite_json(value, where: str, path) -> None:
    """Refuses non-finite numbers and nesting deeper than any analyzer writes (iteratively)."""
    stack = [(value, where, 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            raise AnalyzerFileError(
                path, f"analyzer.json: {where} is nested deeper than {_MAX_JSON_DEPTH} levels"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise AnalyzerFileError(path, f"analyzer.json: {where} is {value}, not a finite number")
        if isinstance(value, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((v, f"{where}.{k}", depth + 1) for k, v in value.items())


def _constructor_parameters(cls) -> set:
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters
        names.update(
            n
            for n, p in parameters.items()
            if n not in ("self", "model") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
    # Analyzers with one fixed LRP rule take the rule's parameters (epsilon, alpha, ...) by keyword.
    names.update(getattr(cls, "_defaults", {}))
    return names


def _read_spec(path: str, registry: dict) -> tuple[str, type, dict]:
    file = os.path.join(path, "analyzer.json")
    if not os.path.isfile(file):
        raise AnalyzerFileError(path, "analyzer.json is missing")
    with open(file, "rb") as f:
        data = f.read(_MAX_JSON_BYTES + 1)
    if len(data) > _MAX_JSON_BYTES:
        raise AnalyzerFileError(path, f"analyzer.json is larger than {_MAX_JSON_BYTES} bytes")
    try:
        spec = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise AnalyzerFileError(
            path, f"analyzer.json is not valid JSON ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(spec, dict):
        raise AnalyzerFileError(path, f"analyzer.json holds a {type(spec).__name__}, not an object")
    keys = set(spec)
    missing = {"analyzer", "class", "params"} - keys
    if missing:
        raise AnalyzerFileError(path, f"analyzer.json lacks the key(s) {sorted(missing)}")
    unknown = keys - {"analyzer", "class", "params", "format"}
    if unknown:
        raise AnalyzerFileError(path, f"analyzer.json has unknown key(s) {sorted(unknown)}")
    fmt = spec.get("format", FORMAT)
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt != FORMAT:
        raise AnalyzerFileError(
            path,
            f"analyzer.json has format {fmt!r}; this version of innvestigate reads format {FORMAT}",
            "Save the analyzer again with this version of innvestigate.",
        )
    name, class_name, params = spec["analyzer"], spec["class"], spec["params"]
    if not isinstance(name, str):
        raise AnalyzerFileError(
            path, f"analyzer.json: 'analyzer' must be a name (a string), got {_json_kind(name)}"
        )
    if name not in registry:
        raise AnalyzerFileError(
            path,
            f"analyzer.json names the unknown analyzer {name!r} (valid names: {', '.join(sorted(registry))})",
        )
    cls = registry[name]
    if class_name != cls.__name__:
        raise AnalyzerFileError(
            path,
            f"analyzer.json names the class {class_name!r}, but analyzer {name!r} is {cls.__name__!r}",
        )
    if not isinstance(params, dict):
        raise AnalyzerFileError(
            path, f"analyzer.json: 'params' must be an object, got {_json_kind(params)}"
        )
    accepted = _constructor_parameters(cls)
    for key, value in params.items():
        if key not in accepted:
            raise AnalyzerFileError(path, f"analyzer.json: {cls.__name__} has no parameter {key!r}")
        _check_finite_json(value, f"params.{key}", path)
        allowed = _PARAM_TYPES.get(key)
        if allowed is not None and not _kind_allowed(_json_kind(value), allowed):
            raise AnalyzerFileError(
                path,
                f"analyzer.json: parameter {key!r} is a JSON {_json_kind(value)}; expected {' or '.join(allowed)}",
            )
        if key in _TUPLE_PARAMS and not all(_json_kind(v) == _INT for v in value):
            raise AnalyzerFileError(
                path, f"analyzer.json: parameter {key!r} must be a list of integers"
            )
    return name, cls, params


def _read_arrays(path: str) -> dict:
    file = os.path.join(path, "arrays.npz")
    if not os.path.isfile(file):
        raise AnalyzerFileError(path, "arrays.npz is missing")
    arrays = {}
    with open(file, "rb") as f:
        magic = f.read(4)
    # zipfile would also read an archive behind prepended bytes; numpy (and save) never write one.
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise AnalyzerFileError(
            path, "arrays.npz is damaged (it does not start like a zip archive)"
        )
    try:
        with zipfile.ZipFile(file) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy") or info.is_dir():
                    raise AnalyzerFileError(
                        path, f"arrays.npz has the member {info.filename!r}, not a .npy array"
                    )
                key = info.filename[: -len(".npy")]
                if key in arrays:
                    raise AnalyzerFileError(path, f"arrays.npz holds the array {key!r} twice")
                if not key.startswith(("param:", "state:")) or key.split(":", 1)[1] == "":
                    raise AnalyzerFileError(path, f"arrays.npz has the unknown array {key!r}")
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported .npy version {version}")
                    header_size = f.tell()
                if dtype.hasobject or dtype.kind not in "biuf":
                    raise AnalyzerFileError(
                        path,
                        f"arrays.npz: array {key!r} has dtype {dtype}; only numbers are stored",
                    )
                n_bytes = math.prod(shape) * dtype.itemsize
                if info.file_size != header_size + n_bytes:
                    raise AnalyzerFileError(
                        path,
                        f"arrays.npz: array {key!r} declares shape {shape} ({n_bytes} bytes of data) but its "
                        f"member holds {info.file_size - header_size} bytes",
                    )
                with zf.open(info) as f:
                    array = np.lib.format.read_array(f, allow_pickle=False)
                if array.dtype.kind == "f" and not np.isfinite(array).all():
                    raise AnalyzerFileError(
                        path, f"arrays.npz: array {key!r} contains NaN or infinite values"
                    )
                arrays[key] = array
    except AnalyzerFileError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,
        RuntimeError,
        KeyError,
        IndexError,
        TypeError,
        OverflowError,
        MemoryError,
        UnicodeDecodeError,
    ) as err:
        # zlib.error (a bad deflate stream) is an Exception subclass of its own; see below.
        raise AnalyzerFileError(
            path, f"arrays.npz is damaged ({type(err).__name__}: {err})"
        ) from None
    except Exception as err:  # zlib.error and friends from damaged compressed members
        if type(err).__module__ in ("zlib", "bz2", "lzma", "_lzma", "_bz2"):
            raise AnalyzerFileError(
                path, f"arrays.npz is damaged ({type(err).__name__}: {err})"
            ) from None
        raise
    return arrays


def _plain_json(value):
    """A parameter value as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(value))


def _check_reference_shape(path, key, array, model) -> None:
    import keras

    specs = keras.tree.flatten(model.inputs)
    if len(specs) != 1 or not keras.backend.standardize_dtype(specs[0].dtype).startswith("float"):
        return  # per-input lists and token (embedding-space) references are checked by analyze
    sample = tuple(1 if d is None else d for d in specs[0].shape[1:])
    shape = array.shape[1:] if array.ndim == len(sample) + 1 else array.shape
    try:
        if np.broadcast_shapes(shape, sample) != sample:
            raise ValueError
    except ValueError:
        raise AnalyzerFileError(
            path,
            f"arrays.npz: {key!r} has shape {array.shape}, which does not fit the model input {sample}",
        ) from None


def read_analyzer_dir(path, model, registry: dict):
    """Reads an analyzer directory written by :func:`write_analyzer_dir`.

    Raises
    ------
    AnalyzerFileError
        For a missing path, a path that is a file, and every kind of damaged content.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}.")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AnalyzerFileError(path, "no such directory", "Check the path given to load_analyzer.")
    if not os.path.isdir(path):
        raise AnalyzerFileError(
            path,
            "it is a file, not a directory written by analyzer.save(path)",
            "Give the directory that analyzer.save(path) wrote.",
        )
    name, cls, params = _read_spec(path, registry)
    arrays = _read_arrays(path)
    param_arrays = {k[len("param:") :]: v for k, v in arrays.items() if k.startswith("param:")}
    state = {k[len("state:") :]: v for k, v in arrays.items() if k.startswith("state:")}
    accepted = _constructor_parameters(cls)
    for key in param_arrays:
        if key not in accepted:
            raise AnalyzerFileError(path, f"arrays.npz: {cls.__name__} has no parameter {key!r}")
        if key in params:
            raise AnalyzerFileError(
                path, f"parameter {key!r} is stored both in analyzer.json and arrays.npz"
            )
    if model is None:
        model_file = os.path.join(path, "model.keras")
        if not os.path.isfile(model_file):
            raise AnalyzerFileError(
                path,
                "it holds no model (model.keras)",
                "Pass the model: load_analyzer(path, model=...).",
            )
        import keras

        try:
            model = keras.saving.load_model(model_file)  # safe_mode: no code from the file
        except Exception as err:  # Keras raises many types for damaged .keras archives
            raise AnalyzerFileError(
                path, f"model.keras cannot be read ({type(err).__name__}: {err})"
            ) from None
    for key in ("reference_inputs", "reference_value"):
        if key in param_arrays:
            _check_reference_shape(path, key, param_arrays[key], model)
    kwargs = dict(params)
    for key in _TUPLE_PARAMS:
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    kwargs.update(param_arrays)
    try:
        analyzer = cls(model, **kwargs)
        analyzer.name = name
        analyzer._set_array_state(state)
    except Exception as err:  # any refusal of the constructor; its type and text are in the message
        raise AnalyzerFileError(
            path,
            f"{cls.__name__} refuses the stored parameters or arrays ({type(err).__name__}: {err})",
        ) from None
    # The analyzer must give back exactly what the file holds: nothing ignored or coerced.
    try:
        rebuilt = analyzer.get_params()
    except TypeError as err:
        raise AnalyzerFileError(
            path, f"the stored parameters give an analyzer that cannot be saved ({err})"
        ) from None
    rebuilt_json = {k: v for k, v in rebuilt.items() if not isinstance(v, np.ndarray)}
    stored_json = dict(params)
    expected = dict(_plain_json(rebuilt_json))
    for key, value in stored_json.items():
        if key not in expected or not _same_json(
            _canonical(key, expected[key]), _canonical(key, value)
        ):
            raise AnalyzerFileError(
                path,
                f"parameter {key!r}={value!r} is not kept by {cls.__name__} "
                f"(it becomes {expected.get(key, '<dropped>')!r})",
            )
    rebuilt_arrays = {k: v for k, v in rebuilt.items() if isinstance(v, np.ndarray)}
    for key, value in param_arrays.items():
        if key not in rebuilt_arrays or not _same_array(rebuilt_arrays[key], value):
            raise AnalyzerFileError(path, f"array parameter {key!r} is not kept by {cls.__name__}")
    rebuilt_state = analyzer._array_state()
    if set(rebuilt_state) != set(state) or not all(
        _same_array(np.asarray(rebuilt_state[k]), state[k]) for k in state
    ):
        raise AnalyzerFileError(
            path,
            f"the stored state arrays {sorted(state)} do not match what {cls.__name__} keeps "
            f"({sorted(rebuilt_state)})",
        )
    return analyzer


def _canonical(key: str, value):
    """LRP rules name a layer type by its path when saved and by its class name when rebuilt."""
    if key != "rules" or not isinstance(value, list):
        return value
    out = []
    for pair in value:
        if (
            isinstance(pair, list)
            and pair
            and isinstance(pair[0], dict)
            and set(pair[0]) == {"type"}
        ):
            types = pair[0]["type"]
            if isinstance(types, list):
                pair = [{"type": [str(t).rsplit(".", 1)[-1] for t in types]}, *pair[1:]]
        out.append(pair)
    return out


def _same_json(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _same_array(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
