"""Environment faults and resource limits end in the package's typed errors, with what to
do in the message: a cache folder that is a file or read-only, requests larger than the
machine's memory, and the modes of atomically written files (issue 15)."""

import io
import os
import shutil
import stat
import subprocess
import tarfile

import numpy as np
import pytest

import shared_datasets
from shared_datasets import memory
from shared_datasets.archives import safe_extract
from shared_datasets.atomic import write_atomic


def test_home_that_is_a_file_gives_a_cache_folder_error(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.write_text("not a folder")
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(home))
    with pytest.raises(
        shared_datasets.CacheFolderError,
        match=r"home is a file, not a folder.*SHARED_DATASETS_HOME",
    ):
        shared_datasets.load("usps")
    with pytest.raises(shared_datasets.DatasetError):
        shared_datasets.fetch("cifar10")
    X_train, *_ = shared_datasets.load("iris")  # offline sets need no cache folder
    assert X_train.shape == (135, 4)


@pytest.fixture
def read_only_home(tmp_path, monkeypatch):
    """A cache folder nobody may write to: mode 0555, or immutable (``chattr +i``) for root,
    whom permission bits do not stop."""
    home = tmp_path / "ro"
    home.mkdir()
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(home))
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(home)]).returncode:
            pytest.skip("running as root without chattr +i: cannot make a folder read-only")
        yield home
        subprocess.run(["chattr", "-i", str(home)], check=True)
    else:
        home.chmod(0o555)
        yield home
        home.chmod(0o755)


def test_read_only_home_gives_a_cache_folder_error(read_only_home):
    with pytest.raises(shared_datasets.CacheFolderError) as info:
        shared_datasets.load("usps")
    message = str(info.value)
    assert f"cannot create cache folder {read_only_home}/usps" in message
    assert "set SHARED_DATASETS_HOME to a writable folder" in message
    assert isinstance(info.value, OSError) and not isinstance(info.value, PermissionError)


def test_generators_refuse_requests_beyond_the_machine_with_the_estimate():
    with pytest.raises(
        shared_datasets.InsufficientMemoryError, match=r"needs about [0-9.]+ TiB .* available"
    ):
        shared_datasets.make_lshtc_like(n_samples=10**10, n_features=1000, n_classes=10)
    with pytest.raises(shared_datasets.InsufficientMemoryError, match=r"n_samples=10000000000"):
        shared_datasets.load("lshtc_like", n_samples=10**10, n_features=1000, n_classes=10)
    with pytest.raises(MemoryError, match="needs about"):  # also a MemoryError
        shared_datasets.make_signal_distractor(10**12)


def test_memory_limit_is_the_available_memory(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 50 * 2**20)
    # 2000 x 60 tokens x 80 B = 9.2 MiB: fits; 20 000 documents (92 MiB) do not
    X, _ = shared_datasets.make_lshtc_like(n_samples=2000, n_features=500, n_classes=10)
    assert X.shape == (2000, 500)
    with pytest.raises(
        shared_datasets.InsufficientMemoryError, match=r"needs about 9[0-9.]+ MiB .* only 50\.0 MiB"
    ):
        shared_datasets.make_lshtc_like(n_samples=20_000, n_features=500, n_classes=10)


def test_available_memory_reads_meminfo():
    with open("/proc/meminfo") as f:
        fields = dict(line.split(":", 1) for line in f)
    expected = int(fields["MemAvailable"].split()[0]) * 1024
    assert abs(memory.available_memory() - expected) < 2**28  # read moments apart


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_atomic_writes_and_extraction_keep_the_umask_mode(tmp_path, umask_027):
    write_atomic(tmp_path / "summary.md", b"# report")
    assert stat.S_IMODE((tmp_path / "summary.md").stat().st_mode) == 0o640
    with tarfile.open(tmp_path / "a.tar", "w") as tar:
        info = tarfile.TarInfo("x.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    out = safe_extract(tmp_path / "a.tar", tmp_path / "out")
    assert stat.S_IMODE(out.stat().st_mode) == 0o750 and (out / "x.txt").read_bytes() == b"hi"


def test_report_writes_sweep_stale_temporaries(tmp_path):
    stale = tmp_path / ".summary.md.partial-a1b2c3d4"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    write_atomic(tmp_path / "summary.md", b"ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]
    assert np.frombuffer((tmp_path / "summary.md").read_bytes(), np.uint8).tolist() == list(b"ok")
