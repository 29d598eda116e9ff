"""Tests of the workspace scripts (release checks, report assembly)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import assemble_report
import release


def test_tag_must_match_pyproject_version():
    version = release.project_version("xcsvm")
    with pytest.raises(release.ReleaseError, match=r"pyproject\.toml says"):
        release.check_tag("xcsvm-v99.0.0")
    with pytest.raises(release.ReleaseError, match="names no package"):
        release.check_tag(f"nopackage-v{version}")
    with pytest.raises(release.ReleaseError, match="not of the form"):
        release.check_tag("xcsvm-0.1")


def test_tag_needs_changelog_entry(tmp_path, monkeypatch):
    for package in release.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "pyproject.toml").write_text('[project]\nversion = "1.2.3"\n')
        (tmp_path / package / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n")
    monkeypatch.setattr(release, "ROOT", tmp_path)
    with pytest.raises(release.ReleaseError, match=r"no '## 1\.2\.3' section"):
        release.check_tag("rbkernels-v1.2.3")
    (tmp_path / "rbkernels" / "CHANGELOG.md").write_text(
        "# Changelog\n\n## 1.2.3 - 2026-11-26\n- first\n"
    )
    assert release.check_tag("rbkernels-v1.2.3") == ("rbkernels", "1.2.3")


def test_report_nests_parts_and_rebases_links(tmp_path):
    part = tmp_path / "xcsvm"
    part.mkdir()
    (part / "summary.md").write_text(
        "# xcsvm quick\n\n![curve](curve.png) [table](./t.csv) [web](https://x.org)\n"
    )
    (part / "curve.png").write_bytes(b"png")
    (part / "t.csv").write_text("a,b\n")
    text = assemble_report.assemble(tmp_path).read_text()
    assert "## xcsvm quick" in text and "## xcsvm\n" not in text
    assert "![curve](xcsvm/curve.png)" in text and "[table](xcsvm/t.csv)" in text
    assert "[web](https://x.org)" in text
    assert "No quick reproduction (yet) for: shared-datasets, rbkernels, innvestigate." in text


def test_report_titles_an_untitled_part(tmp_path):
    (tmp_path / "rbkernels").mkdir()
    (tmp_path / "rbkernels" / "summary.md").write_text("Quick mode on digits.\n")
    text = assemble_report.assemble(tmp_path).read_text()
    assert "## rbkernels\n\nQuick mode on digits." in text


def test_report_on_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="make demo"):
        assemble_report.assemble(tmp_path / "absent")
