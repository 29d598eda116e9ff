"""The Fig. IV.1 KAE sweep: Eckart-Young bound, UAB below RB, --resume runs only missing cells."""

import csv

import pytest

from rbkernels.experiments import kernel_approximation

SMALL = [
    "--quick",
    "--features",
    "8",
    "32",
    "--max-train",
    "300",
    "--max-test",
    "60",
    "--uab-epochs",
    "4",
    "--uab-batches",
    "10",
    "--uab-batch-size",
    "256",
]


@pytest.mark.slow
def test_sweep_respects_the_rank_bound_and_uab_beats_rb(tmp_path):
    res = kernel_approximation.main(SMALL + ["--kernels", "gaussian", "--out", str(tmp_path)])
    with open(tmp_path / "kernel_approximation_mean.csv") as f:
        mean = {(r["method"], int(r["n_features"])): float(r["kae"]) for r in csv.DictReader(f)}
    for D in (8, 32):
        # no D-dimensional feature map beats the truncated eigendecomposition (Eckart-Young)
        for method in ("rbfsampler", "rb", "uab"):
            assert mean[(method, D)] >= mean[("optimum", D)] * (1 - 1e-9)
        assert mean[("uab", D)] < mean[("rb", D)]  # adapted to the kernel (Eq. IV.8)
    assert mean[("rb", 32)] < mean[("rb", 8)]
    assert (tmp_path / "fig_IV1_kae.png").stat().st_size > 10_000
    assert "RB / UAB" in res["markdown"]


def test_resume_runs_only_the_missing_cells(tmp_path, monkeypatch):
    calls = []

    def fake_kae(method, kernel, D, seed, *args):
        calls.append((method, kernel, D, seed))
        return 1.0 / D

    monkeypatch.setattr(kernel_approximation, "_kae", fake_kae)
    argv = SMALL + ["--kernels", "gaussian", "arccos", "--out", str(tmp_path)]
    kernel_approximation.main(argv)
    # RBFSampler approximates the Gaussian kernel only: 2 widths x (3 + 2) methods
    assert len(calls) == 10
    with open(tmp_path / "kernel_approximation.csv") as f:
        rows = list(csv.DictReader(f))
    del rows[3:]
    with open(tmp_path / "kernel_approximation.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    calls.clear()
    kernel_approximation.main(argv + ["--resume"])
    assert len(calls) == 7
    with open(tmp_path / "kernel_approximation_mean.csv") as f:
        mean = list(csv.DictReader(f))
    assert {(r["method"], r["n_features"], r["kae"]) for r in mean if r["method"] == "uab"} == {
        ("uab", "8", str(1 / 8)),
        ("uab", "32", str(1 / 32)),
    }
