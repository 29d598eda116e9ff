"""benchmarks/fig_v4_runtime.py: what is timed as setup and as run, and its CSV round trip."""

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import fig_v4_runtime as v4


def test_setup_covers_creation_and_the_first_batch_and_run_every_image_after_it():
    calls = []

    def create():
        calls.append("create")
        return "analyzer"

    def analyze(analyzer, batch):
        assert analyzer == "analyzer"
        calls.append(len(batch))

    x = np.zeros((40, 2), "float32")
    setup, run, setup_cpu, run_cpu = v4.time_method(create, analyze, x, batch=16)
    # setup: create + one batch; run: all 40 images again in batches of 16, 16, 8
    assert calls == ["create", 16, 16, 16, 8]
    assert min(setup, run, setup_cpu, run_cpu) >= 0


def test_rows_round_trip_through_the_csv_and_the_plot_is_written(tmp_path):
    rows = [
        dict(
            library=lib,
            method=m,
            label=label,
            images=512,
            batch=16,
            size=112,
            setup_s=1.0,
            run_s=t,
            setup_cpu_s=0.5,
            run_cpu_s=t / 2,
            images_per_s=512 / t,
            backend="b",
        )
        for lib, t in (("ours", 10.0), ("innvestigate 2.1.2", 20.0))
        for m, label in v4.METHODS
    ]
    path = tmp_path / "fig_v4_runtime.csv"
    v4.write_rows(str(path), rows)
    back = v4.read_rows(str(path))
    assert [(r["library"], r["label"], float(r["run_s"])) for r in back] == [
        (r["library"], r["label"], r["run_s"]) for r in rows
    ]
    v4.plot(back, str(tmp_path / "fig.png"))
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
