"""The experiment scripts produce their CSV/PNG outputs with sensible values (slow)."""

import csv
import importlib
import sys

import numpy as np
import pytest

from rbkernels.experiments import adapting_bases, reproduce


@pytest.mark.parametrize("module", ["matplotlib", "shared_datasets"])
def test_experiments_without_the_extra_name_the_pip_command(monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    for name in [m for m in sys.modules if m.startswith("rbkernels.experiments")]:
        monkeypatch.delitem(sys.modules, name)
    dist = module.replace("_", "-")
    with pytest.raises(ImportError, match=rf"needs {dist}.*pip install rbkernels\[experiments\]"):
        importlib.import_module("rbkernels.experiments.common")


@pytest.mark.slow
def test_adapting_bases_quick_outputs(tmp_path):
    res = adapting_bases.main(
        ["--quick", "--out", str(tmp_path), "--features", "10", "200", "--max-train", "400"]
    )
    with open(tmp_path / "adapting_bases.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 4
    kae = {(r["kernel"], r["regime"], int(r["n_features"])): float(r["kae"]) for r in rows}
    for kernel in ("gaussian", "arccos"):
        assert kae[(kernel, "rb", 200)] < kae[(kernel, "rb", 10)]
    assert all(0.1 < float(r["accuracy"]) <= 1 for r in rows)  # better than chance on 10 classes
    # one seed: the mean CSV behind the figure holds the same numbers as the runs
    with open(tmp_path / "adapting_bases_mean.csv") as f:
        means = {
            (r["kernel"], r["regime"], int(r["n_features"])): float(r["kae"])
            for r in csv.DictReader(f)
        }
    assert means == pytest.approx(kae)
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "fig_A1.png")
    assert image.shape[0] > 200 and np.ptp(image[..., :3]) > 0.5  # a drawn figure, not blank
    assert "Tab. A.1" in res["markdown"]


@pytest.mark.slow
def test_reproduce_writes_summary(tmp_path):
    summary = reproduce.main(["--quick", "--out", str(tmp_path), "--only", "optimization"])
    text = summary.read_text()
    assert "Fig. IV.5" in text and "fig_IV5.png" in text
    # the summary carries the experiment's own table, and that table's runs learnt something
    table = (tmp_path / "optimization" / "optimization.md").read_text().strip()
    assert table in text
    with open(tmp_path / "optimization" / "optimization.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(float(r["accuracy"]) > 0.5 for r in rows)
    assert all(1 <= int(r["epochs"]) <= 100 for r in rows)


def test_resume_keeps_finished_cells_and_runs_only_the_missing(tmp_path, monkeypatch):
    from rbkernels.experiments import common

    calls = []

    def fake_cell(data, *, kernel, regime, n_features, seed, protocol, **kw):
        calls.append((kernel, regime, n_features, seed))
        return None, {
            "kernel": kernel,
            "regime": regime,
            "basis": "dense",
            "n_blocks": "",
            "n_features": n_features,
            "seed": seed,
            "accuracy": 0.5 + seed / 10,
            "kae": 0.25,
            "epochs": 3,
            "classifier_epochs": 2,
            "seconds": 1.5,
            "sigma": "",
        }

    monkeypatch.setattr(common, "run_cell", fake_cell)
    cells = [
        dict(dataset="d", kernel="arccos", regime=r, n_features=D, seed=s, protocol=None)
        for D in (30, 10)
        for s in (0, 1)
        for r in ("rb", "dab")
    ]
    path = tmp_path / "grid.csv"
    common.run_grid(cells[:3], desc="first", csv_path=path, data_cache={"d": None})
    assert len(calls) == 3
    rows = common.run_grid(
        cells, desc="resumed", csv_path=path, data_cache={"d": None}, resume=True
    )
    assert len(calls) == 8  # the 3 finished cells were not run again
    assert [(r["regime"], r["n_features"], r["seed"]) for r in rows] == [
        (c["regime"], c["n_features"], c["seed"]) for c in cells
    ]
    # numbers read back from the CSV are numbers again: the means group with fresh rows
    mean = common.mean_rows(rows, ("kernel", "regime", "n_features"))
    assert len(mean) == 4 and {m["repeats"] for m in mean} == {2}
    assert mean[0]["accuracy"] == pytest.approx(0.55)
    # without --resume the CSV starts afresh
    common.run_grid(cells[:1], desc="fresh", csv_path=path, data_cache={"d": None})
    with open(path) as f:
        assert len(list(csv.DictReader(f))) == 1
