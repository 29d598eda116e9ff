"""The reproduction script on tiny data: files written, tables consistent."""
import csv

import pytest

from xcsvm.experiments import reproduce


def test_reproduce_writes_summary_csv_and_plot(tmp_path, monkeypatch):
    monkeypatch.setitem(reproduce.SIZES, True, dict(n_train=300, n_test=150, n_features=400, n_classes=6))
    rows = reproduce.run(quick=True, out=tmp_path, n_jobs=1, max_iter=50, progress=False)
    assert {p.name for p in tmp_path.iterdir()} == {"summary.md", "results.csv", "tables_III3_III4.png"}
    assert len(rows) == 5 * 4
    with open(tmp_path / "results.csv") as stream:
        table = list(csv.DictReader(stream))
    assert len(table) == 20
    for row in rows:
        # single-label multi-class: micro-F1 is the accuracy
        assert row["micro_f1"] == pytest.approx(100 - row["error"])
        assert 0 < row["density"] <= 100
    summary = (tmp_path / "summary.md").read_text()
    assert "Table III.3" in summary and "Table III.4" in summary
    assert (tmp_path / "tables_III3_III4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
