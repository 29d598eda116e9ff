"""Fuzzing (hypothesis) of what reads untrusted bytes: the svmlight reader, archive
extraction (tar, tar.gz/bz2/xz, zip), single-file decompression (gz/bz2/xz) and the
pickle-free CIFAR-10 batch parser.

Valid inputs are generated with their expected content (the oracle), then optionally
mutated: truncated, bit-flipped, bytes inserted or deleted; archives also get hostile
members (``..``, absolute paths, symlinks, hard links, fifos, huge declared sizes).
Whatever happens, nothing may crash (only the package's typed errors), hang, write
outside the target folder, or return silently wrong data: a result must equal the
oracle's (an independent parse for svmlight; the original files where a checksum
covers them: zip CRC-32, gzip/bzip2/xz stream checks).

``make test`` runs the small fixed-seed profile (``sd-quick``: derandomized, 25 examples
a target). The long run, 10 000 examples a target (see README):

    SHARED_DATASETS_HYPOTHESIS_PROFILE=sd-fuzz nice -n 10 python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
"""

import bz2
import gzip
import io
import lzma
import os
import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cifar_pickles import cifar_batch_stream  # tests/ is on sys.path (no package)
from shared_datasets.archives import safe_extract
from shared_datasets.cifar import read_cifar10_batch
from shared_datasets.download import _decompress
from shared_datasets.errors import MalformedDataError, UnsafeArchiveError
from shared_datasets.svmlight import read_svmlight

# ---------------------------------------------------------------------------- mutations
MUTATION = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 16)),
)


def mutate(data: bytes, mutation) -> bytes:
    if mutation is None or not data:
        return data
    kind, where = mutation[0], min(int(mutation[1] * len(data)), len(data) - 1)
    if kind == "truncate":
        return data[:where]
    if kind == "flip":
        return data[:where] + bytes([data[where] ^ (1 << mutation[2])]) + data[where + 1 :]
    if kind == "insert":
        return data[:where] + mutation[2] + data[where:]
    return data[:where] + data[where + mutation[2] :]


def tree(root: Path) -> dict:
    """{relative path: bytes or 'dir'/'link'} of everything under ``root``."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = "link"
            elif path.is_dir():
                out[key] = "dir"
            else:
                out[key] = path.read_bytes()
    return out


@pytest.fixture
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _fresh(workdir: Path, tag: str) -> Path:
    # hypothesis runs many examples inside one function-scoped fixture: one folder each
    folder = workdir / f"{tag}{len(list(workdir.iterdir()))}"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------------------- svmlight
VALUE = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
)
ROW = st.tuples(
    st.integers(-3, 3),
    st.dictionaries(st.integers(1, 40), VALUE, max_size=6),
    st.sampled_from(["", " # comment", "\t"]),
)


def _svmlight_text(rows) -> bytes:
    lines = []
    for label, features, tail in rows:
        tokens = [str(label)] + [f"{i}:{v}" for i, v in sorted(features.items())]
        lines.append(" ".join(tokens) + tail)
    return ("\n".join(lines) + "\n").encode()


def reference_parse(text: bytes):
    """An independent parser with scikit-learn's grammar (one-based); None if it rejects."""
    rows, labels = [], []
    for raw in text.split(b"\n"):
        head = raw.split(b"\x00", 1)[0]  # scikit-learn looks for '#' with strchr (stops at NUL)
        if b"#" in head:
            raw = raw[: head.index(b"#")]
        tokens = raw.split()
        if not tokens:
            continue
        try:
            labels.append(float(tokens[0]))
            features = tokens[1:]
            if features and features[0].startswith(b"qid"):
                if b":" not in features[0]:
                    return None
                features = features[1:]
            row, previous = {}, -1
            for token in features:
                index_text, colon, value_text = token.partition(b":")
                if not colon:
                    return None
                index = int(index_text)
                if index <= 0 or index <= previous or index > 2**31 - 1:
                    return None
                row[index - 1] = float(value_text)
                previous = index
        except ValueError:
            return None
        rows.append(row)
    n_features = max((max(r) + 1 for r in rows if r), default=0)
    X = np.zeros((len(rows), n_features))
    for i, row in enumerate(rows):
        for j, v in row.items():
            X[i, j] = v
    return X, np.asarray(labels)


@given(rows=st.lists(ROW, min_size=1, max_size=8), mutation=st.none() | MUTATION)
def test_fuzz_svmlight_reader(workdir, rows, mutation):
    text = mutate(_svmlight_text(rows), mutation)
    path = _fresh(workdir, "svm") / "data.svm"
    path.write_bytes(text)
    expected = reference_parse(text)
    try:
        X, y = read_svmlight([path])
    except MalformedDataError as error:
        assert str(path) in str(error)
        assert expected is None or expected[0].shape[0] == 0, f"valid file refused: {error}"
        return
    assert expected is not None, "a file the reference parser rejects was read"
    X_expected, y_expected = expected
    dense = X.toarray()
    assert dense.shape[0] == X_expected.shape[0]
    width = max(dense.shape[1], X_expected.shape[1])
    pad = lambda a: np.pad(a, ((0, 0), (0, width - a.shape[1])))  # noqa: E731
    assert np.array_equal(pad(dense), pad(X_expected), equal_nan=True)
    assert np.array_equal(y, y_expected, equal_nan=True)


# ---------------------------------------------------------------------------- archives
NAME = st.text("abcxyz019_-", min_size=1, max_size=6)
FILES = st.dictionaries(
    st.lists(NAME, min_size=1, max_size=3).map("/".join),
    st.binary(max_size=200),
    min_size=1,
    max_size=4,
)
HOSTILE = st.sampled_from([None, "dotdot", "absolute", "symlink", "hardlink", "fifo", "huge"])
FORMAT = st.sampled_from(["tar", "tar.gz", "tar.bz2", "tar.xz", "zip"])


def _consistent(files: dict) -> dict:
    """Drop files whose path is also used as a folder by another file."""
    names = sorted(files)
    return {n: files[n] for n in names if not any(m.startswith(n + "/") for m in names)}


def _patch_zip_sizes(blob: bytes, size: int) -> bytes:
    """Declare ``size`` uncompressed bytes for every member in the central directory."""
    blob = bytearray(blob)
    at = blob.find(b"PK\x01\x02")
    while at != -1:
        blob[at + 24 : at + 28] = struct.pack("<I", size)
        at = blob.find(b"PK\x01\x02", at + 4)
    return bytes(blob)


def _archive(files: dict, fmt: str, hostile) -> bytes:
    buffer = io.BytesIO()
    if fmt == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
            if hostile in ("dotdot", "absolute"):
                zf.writestr("../evil" if hostile == "dotdot" else "/tmp/evil_fuzz", b"evil")
            elif hostile in ("symlink", "hardlink", "fifo"):
                info = zipfile.ZipInfo("link")
                info.external_attr = (0o120777 << 16) if hostile == "symlink" else (0o010644 << 16)
                zf.writestr(info, b"/etc/passwd")
        blob = buffer.getvalue()
        return _patch_zip_sizes(blob, 2**32 - 1) if hostile == "huge" else blob
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if hostile in ("dotdot", "absolute"):
            info = tarfile.TarInfo("../evil" if hostile == "dotdot" else "/tmp/evil_fuzz")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
        elif hostile in ("symlink", "hardlink"):
            info = tarfile.TarInfo("link")
            info.type = tarfile.SYMTYPE if hostile == "symlink" else tarfile.LNKTYPE
            info.linkname = "/etc/passwd" if hostile == "symlink" else "../../etc/passwd"
            tar.addfile(info)
        elif hostile == "fifo":
            info = tarfile.TarInfo("pipe")
            info.type = tarfile.FIFOTYPE
            tar.addfile(info)
        end = tar.offset  # before the end-of-archive blocks
    blob = buffer.getvalue()
    if hostile == "huge":  # a member declaring 64 GiB with 16 bytes of data behind it
        info = tarfile.TarInfo("huge.bin")
        info.size = 2**36
        blob = blob[:end] + info.tobuf(tarfile.PAX_FORMAT) + b"x" * 16
    compress = {
        "tar": bytes,
        "tar.gz": gzip.compress,
        "tar.bz2": bz2.compress,
        "tar.xz": lzma.compress,
    }[fmt]
    return compress(blob)


@given(files=FILES, fmt=FORMAT, hostile=HOSTILE, mutation=st.none() | MUTATION)
def test_fuzz_archive_extraction(workdir, files, fmt, hostile, mutation):
    files = _consistent(files)
    blob = mutate(_archive(files, fmt, hostile), mutation)
    folder = _fresh(workdir, "arc")
    archive = folder / f"data.{fmt}"
    archive.write_bytes(blob)
    target = folder / "sub" / "out"
    try:
        safe_extract(archive, target, max_bytes=2**20)
    except (UnsafeArchiveError, MalformedDataError) as error:
        assert str(archive) in str(error)
        assert sorted(p.name for p in folder.iterdir()) == [archive.name, "sub"]
        assert list((folder / "sub").iterdir()) == []  # no staging folder, no target
        assert mutation is not None or hostile is not None, f"a clean archive was refused: {error}"
        return
    assert hostile not in ("huge", "dotdot", "absolute", "symlink") or mutation is not None, (
        "hostile member accepted"
    )
    assert sorted(p.name for p in folder.iterdir()) == [archive.name, "sub"]
    assert sorted(p.name for p in (folder / "sub").iterdir()) == [
        "out"
    ]  # nothing beside the target
    assert not Path("/tmp/evil_fuzz").exists()
    extracted = tree(target)
    assert "link" not in extracted.values() and "pipe" not in extracted  # no links, no fifos
    if hostile is None and (mutation is None or fmt != "tar"):
        # checksummed formats: what comes out is exactly what went in (plain tar has no
        # checksum over its data; the registry's archive hash covers it)
        assert {k: v for k, v in extracted.items() if v != "dir"} == files


# ---------------------------------------------------------------- single-file decompression
@given(
    data=st.binary(max_size=300),
    method=st.sampled_from(["gz", "bz2", "xz"]),
    mutation=st.none() | MUTATION,
)
def test_fuzz_decompression(workdir, data, method, mutation):
    compress = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[method]
    folder = _fresh(workdir, "dec")
    source = folder / f"data.{method}"
    source.write_bytes(mutate(compress(data), mutation))
    try:
        _decompress(source, folder / "data", method)
    except MalformedDataError:
        assert sorted(p.name for p in folder.iterdir()) == [source.name]  # no partial output
        assert mutation is not None, "a clean stream was refused"
        return
    assert (folder / "data").read_bytes() == data  # every format checks its stream's checksum


def test_decompression_bomb_is_refused(tmp_path):
    (tmp_path / "bomb.bz2").write_bytes(bz2.compress(b"\0" * 2**21))
    with pytest.raises(MalformedDataError, match=r"decompresses to more than 1\.0 MiB"):
        _decompress(tmp_path / "bomb.bz2", tmp_path / "bomb", "bz2", max_bytes=2**20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.bz2"]


# ---------------------------------------------------------------------------- CIFAR-10
@given(seed=st.integers(0, 2**16), rows=st.integers(1, 3), mutation=st.none() | MUTATION)
def test_fuzz_cifar10_batch_parser(seed, rows, mutation):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (rows, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, rows)]
    stream = cifar_batch_stream(data, labels, "fuzz")
    mutated = mutate(stream, mutation)
    try:
        X, y = read_cifar10_batch(mutated, rows=rows)
    except MalformedDataError:
        assert mutated != stream, "a valid batch was refused"
        return
    assert X.shape == (rows, 3072) and X.dtype == np.uint8 and y.shape == (rows,)
    assert ((y >= 0) & (y <= 9)).all()
    if mutated == stream:
        assert np.array_equal(X, data) and y.tolist() == labels


def test_reference_parser_agrees_on_a_known_file():
    X, y = reference_parse(b"1 1:0.5 3:2 # c\n-1 qid:3 2:1\n\n")
    assert X.tolist() == [[0.5, 0, 2], [0, 1, 0]] and y.tolist() == [1, -1]


def test_feature_index_beyond_a_c_int_is_malformed(tmp_path):
    """Found by hand in issue 15: scikit-learn's parser raised OverflowError."""
    path = tmp_path / "big.svm"
    path.write_text("1 1:0.5\n2 1000000000000:1\n")
    with pytest.raises(
        MalformedDataError, match=r"big\.svm:2: .*feature index 1000000000000 exceeds 2147483647"
    ):
        read_svmlight([path])
