"""Fig. IV.2's transfer experiment: --resume runs only the missing (width, split, basis) cells."""

import csv
from typing import ClassVar

from rbkernels.experiments import transfer


class _FakeMachine:
    """Stands in for KernelMachine: records fits, scores by the width (no training)."""

    fits: ClassVar[list] = []  # shared by every instance: the test reads and clears it

    def __init__(self, kernel, n_features, regime, **kw):
        self.key = (kernel, n_features, regime, kw["random_state"])

    def fit(self, X, y):
        self.fits.append(self.key)
        self.classes = set(y.tolist())
        return self

    def transfer(self, X, y):
        self.classes = set(y.tolist())
        return self

    def score(self, X, y):
        assert set(y.tolist()) <= self.classes  # task 1 and task 2 keep their own classes
        return 1.0 - 1.0 / self.key[1]


def test_resume_runs_only_missing_cells_and_tables_every_width(tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "KernelMachine", _FakeMachine)
    argv = ["--quick", "--features", "10", "20", "--splits", "2", "--out", str(tmp_path)]
    transfer.main(argv)
    assert len(_FakeMachine.fits) == 2 * 2 * 4  # widths x splits x bases
    with open(tmp_path / "transfer.csv") as f:
        rows = list(csv.DictReader(f))
    with open(tmp_path / "transfer.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:10])  # 5 cells, two rows (task 1, task 2) each
    _FakeMachine.fits.clear()
    res = transfer.main(argv + ["--resume"])
    assert len(_FakeMachine.fits) == 16 - 5
    # width-major order: the kept cells are the first width's
    assert all(D == 10 for _, D, _, _ in _FakeMachine.fits[:3]) and _FakeMachine.fits[-1][1] == 20
    assert (
        "| 10 | 2 | 0.9 | 0.9 |" in res["markdown"]
        and "| 20 | 2 | 0.95 | 0.95 |" in res["markdown"]
    )
