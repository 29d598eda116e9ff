"""The experiment scripts produce their CSV/PNG outputs with sensible values (slow)."""

import csv

import pytest

from rbkernels.experiments import adapting_bases, reproduce


@pytest.mark.slow
def test_adapting_bases_quick_outputs(tmp_path):
    res = adapting_bases.main(["--quick", "--out", str(tmp_path), "--features", "10", "200",
                               "--max-train", "400"])
    rows = list(csv.DictReader(open(tmp_path / "adapting_bases.csv")))
    assert len(rows) == 2 * 2 * 4
    kae = {(r["kernel"], r["regime"], int(r["n_features"])): float(r["kae"]) for r in rows}
    for kernel in ("gaussian", "arccos"):
        assert kae[(kernel, "rb", 200)] < kae[(kernel, "rb", 10)]
    assert all(0 <= float(r["accuracy"]) <= 1 for r in rows)
    assert (tmp_path / "fig_A1.png").stat().st_size > 10_000
    assert "Tab. A.1" in res["markdown"]


@pytest.mark.slow
def test_reproduce_writes_summary(tmp_path):
    summary = reproduce.main(["--quick", "--out", str(tmp_path), "--only", "optimization"])
    text = summary.read_text()
    assert "Fig. IV.5" in text and "fig_IV5.png" in text
