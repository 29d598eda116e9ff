"""python -m shared_datasets.report writes the CSV, the summary and the figures."""

import csv

from shared_datasets.catalog import OFFLINE
from shared_datasets.report import main


def test_report_files(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "r")]) == 0
    out = tmp_path / "r"
    assert str(out) in capsys.readouterr().out
    rows = {r["name"]: r for r in csv.DictReader((out / "datasets.csv").read_text().splitlines())}
    assert set(rows) == set(OFFLINE) | {"lshtc_like"}
    for name, meta in OFFLINE.items():
        assert (
            int(rows[name]["n_train"]),
            int(rows[name]["n_test"]),
            int(rows[name]["n_features"]),
            int(rows[name]["n_classes"]),
        ) == (meta.n_train, meta.n_test, meta.n_features, meta.n_classes)
    assert float(rows["iris"]["density"]) == 1.0 and float(rows["lshtc_like"]["density"]) < 0.002
    for png in ("lshtc_like_class_sizes.png", "signal_distractor.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (out / "summary.md").read_text()
    assert (
        "| letter | 16,000 | 4,000 | 16 | 26 |" in summary
        and "lshtc_like_class_sizes.png" in summary
    )
