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


def test_resume_keeps_finished_cells_and_runs_only_the_missing(tmp_path, monkeypatch):
    from rbkernels.experiments import common

    calls = []

    def fake_cell(data, *, kernel, regime, n_features, seed, protocol, **kw):
        calls.append((kernel, regime, n_features, seed))
        return None, {"kernel": kernel, "regime": regime, "basis": "dense", "n_blocks": "",
                      "n_features": n_features, "seed": seed, "accuracy": 0.5 + seed / 10,
                      "kae": 0.25, "epochs": 3, "classifier_epochs": 2, "seconds": 1.5, "sigma": ""}

    monkeypatch.setattr(common, "run_cell", fake_cell)
    cells = [dict(dataset="d", kernel="arccos", regime=r, n_features=D, seed=s, protocol=None)
             for D in (30, 10) for s in (0, 1) for r in ("rb", "dab")]
    path = tmp_path / "grid.csv"
    common.run_grid(cells[:3], desc="first", csv_path=path, data_cache={"d": None})
    assert len(calls) == 3
    rows = common.run_grid(cells, desc="resumed", csv_path=path, data_cache={"d": None}, resume=True)
    assert len(calls) == 8  # the 3 finished cells were not run again
    assert [(r["regime"], r["n_features"], r["seed"]) for r in rows] == [
        (c["regime"], c["n_features"], c["seed"]) for c in cells]
    # numbers read back from the CSV are numbers again: the means group with fresh rows
    mean = common.mean_rows(rows, ("kernel", "regime", "n_features"))
    assert len(mean) == 4 and {m["repeats"] for m in mean} == {2}
    assert mean[0]["accuracy"] == pytest.approx(0.55)
    # without --resume the CSV starts afresh
    common.run_grid(cells[:1], desc="fresh", csv_path=path, data_cache={"d": None})
    assert len(list(csv.DictReader(open(path)))) == 1
