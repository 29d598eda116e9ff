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


@pytest.mark.parametrize("name,kind", [("../evil.txt", "file"), ("/tmp/evil_abs.txt", "file"),
                                       ("d/../../evil.txt", "file"), ("d/link", "symlink")])
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
    assert (safe_extract(tmp_path / "ok.zip", tmp_path / "out") / "a" / "b.txt").read_text() == "zip!"
    (tmp_path / "junk.tar").write_bytes(b"this is no archive")
    with pytest.raises(shared_datasets.MalformedDataError):
        safe_extract(tmp_path / "junk.tar", tmp_path / "out2")
