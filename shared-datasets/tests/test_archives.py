"""Archive extraction refuses members that would escape the target folder."""

import io
import tarfile
import zipfile

import pytest

import shared_datasets
from shared_datasets.archives import safe_extract


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = 5
                tar.addfile(info, io.BytesIO(b"hello"))
    return path


def test_extracts_a_clean_tar(tmp_path):
    archive = _tar(tmp_path / "ok.tar.gz", [("d/a.txt", "file"), ("d/b.txt", "file")])
    out = safe_extract(archive, tmp_path / "out")
    assert (out / "d" / "a.txt").read_bytes() == b"hello"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.tar.gz", "out"]  # no staging left


@pytest.mark.parametrize(
    "name,kind",
    [
        ("../evil.txt", "file"),
        ("/tmp/evil_abs.txt", "file"),
        ("d/../../evil.txt", "file"),
        ("d/link", "symlink"),
    ],
)
def test_refuses_escaping_tar_members(tmp_path, name, kind):
    archive = _tar(tmp_path / "bad.tar.gz", [("d/fine.txt", "file"), (name, kind)])
    with pytest.raises(shared_datasets.UnsafeArchiveError, match="refusing"):
        safe_extract(archive, tmp_path / "sub" / "out")
    assert not (tmp_path / "sub" / "out").exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "sub" / "evil.txt").exists()
    assert list((tmp_path / "sub").iterdir()) == []  # staging folder removed


def test_refuses_escaping_zip_members(tmp_path):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("ok.txt", "x")
        zf.writestr("../evil.txt", "x")
    with pytest.raises(shared_datasets.UnsafeArchiveError):
        safe_extract(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out").exists()


def test_clean_zip_and_not_an_archive(tmp_path):
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("a/b.txt", "zip!")
    assert (
        safe_extract(tmp_path / "ok.zip", tmp_path / "out") / "a" / "b.txt"
    ).read_text() == "zip!"
    (tmp_path / "junk.tar").write_bytes(b"this is no archive")
    with pytest.raises(shared_datasets.MalformedDataError):
        safe_extract(tmp_path / "junk.tar", tmp_path / "out2")


# ---- damaged and hostile archives end in typed errors (issue 15; tests/test_fuzz.py fuzzes these)
def _tar_bytes(members, *, end_marker=True):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        end = tar.offset  # before the end-of-archive blocks and the record padding
    return buffer.getvalue() if end_marker else buffer.getvalue()[:end]


def test_flipped_gzip_checksum_is_caught(tmp_path):
    import gzip

    blob = bytearray(gzip.compress(_tar_bytes([("a.txt", b"hello" * 100)])))
    blob[-6] ^= 0x01  # inside the CRC-32 trailer: tarfile alone never reads it
    (tmp_path / "a.tar.gz").write_bytes(bytes(blob))
    with pytest.raises(shared_datasets.MalformedDataError, match=r"corrupt archive .*CRC"):
        safe_extract(tmp_path / "a.tar.gz", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar.gz"]


def test_members_declaring_more_than_allowed_are_refused_before_writing(tmp_path):
    import gzip

    bomb = gzip.compress(_tar_bytes([("zeros.bin", b"\0" * 2**21)]))  # 2 MiB in 2 KiB
    (tmp_path / "bomb.tar.gz").write_bytes(bomb)
    with pytest.raises(
        shared_datasets.UnsafeArchiveError, match=r"declare 2\.0 MiB in all, more than the 1\.0 MiB"
    ):
        safe_extract(tmp_path / "bomb.tar.gz", tmp_path / "out", max_bytes=2**20)
    blob = _tar_bytes([("a.txt", b"x")], end_marker=False)
    info = tarfile.TarInfo("huge.bin")
    info.size = 2**40  # 1 TiB declared, 16 bytes present
    (tmp_path / "h.tar").write_bytes(blob + info.tobuf(tarfile.PAX_FORMAT) + b"y" * 16)
    with pytest.raises(shared_datasets.MalformedDataError, match="unexpected end of data"):
        safe_extract(tmp_path / "h.tar", tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.tar.gz", "h.tar"]


def test_truncated_and_encrypted_zips_are_malformed(tmp_path):
    with zipfile.ZipFile(tmp_path / "ok.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"abc" * 1000)
    blob = (tmp_path / "ok.zip").read_bytes()
    encrypted = bytearray(blob)
    for signature, flag_offset in (
        (b"PK\x03\x04", 6),
        (b"PK\x01\x02", 8),
    ):  # set the 'encrypted' bit
        at = encrypted.find(signature)
        encrypted[at + flag_offset] |= 0x01
    (tmp_path / "enc.zip").write_bytes(bytes(encrypted))
    with pytest.raises(shared_datasets.MalformedDataError, match="encrypted"):
        safe_extract(tmp_path / "enc.zip", tmp_path / "out1")
    flipped = bytearray(blob)
    flipped[40] ^= 0x10  # inside the deflate data of a.txt
    (tmp_path / "flip.zip").write_bytes(bytes(flipped))
    with pytest.raises(shared_datasets.MalformedDataError):
        safe_extract(tmp_path / "flip.zip", tmp_path / "out2")
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out2").exists()
