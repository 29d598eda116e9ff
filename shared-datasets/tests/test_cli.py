"""The shared-datasets command line."""

from shared_datasets.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("letter", "fashion_mnist", "news20", "lshtc_small", "lshtc_like"):
        assert f"\n{name} " in out
    assert main(["list", "--kind", "offline"]) == 0
    assert "news20" not in capsys.readouterr().out


def test_info_offline_and_remote(capsys):
    assert main(["info", "letter"]) == 0
    out = capsys.readouterr().out
    assert "0=A, 1=B" in out and "16,000" in out and "26" in out
    assert main(["info", "usps"]) == 0
    out = capsys.readouterr().out
    assert "usps.t.bz2" in out and "md5:8ea070ee2aca1ac39742fdd1ef5ed118" in out
    assert main(["info", "news20"]) == 0
    assert "unverified" in capsys.readouterr().out


def test_errors_exit_one_with_message(capsys, tmp_path, monkeypatch):
    assert main(["info", "lettre"]) == 1
    assert "valid names" in capsys.readouterr().err
    monkeypatch.setenv("SHARED_DATASETS_HOME", str(tmp_path))
    assert main(["fetch", "lshtc_2011"]) == 1
    assert str(tmp_path / "lshtc" / "lshtc_2011" / "train.txt") in capsys.readouterr().err
