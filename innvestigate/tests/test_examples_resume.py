"""run_all.py --resume: finished examples are kept, not run again (make reproduce-innvestigate)."""

import json
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))


def run_all(*args):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "run_all.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def finished_example(tmp_path):
    """An output folder with one figure and the record of the run that wrote it."""
    import run_all as driver

    out, models = tmp_path / "out", tmp_path / "models"
    out.mkdir()
    figure = out / "fig_v6_visualizations.png"
    figure.write_bytes(b"not really a png")
    record = pathlib.Path(driver.record_path(str(models), "visualizations", quick=False))
    record.parent.mkdir(parents=True)
    section = "## Visualisations (Fig. V.6)\n\nkept from the earlier run\n"
    record.write_text(
        json.dumps(
            {"out": str(out.resolve()), "seconds": 12.0, "section": section, "files": [str(figure)]}
        )
    )
    return out, models, figure, record, section


def test_resume_needs_a_models_dir(tmp_path):
    result = run_all("--out", tmp_path, "--resume", "--only", "visualizations")
    assert result.returncode == 2 and "--resume needs --models-dir" in result.stderr


def test_resume_keeps_a_finished_example_without_running_it(tmp_path):
    out, models, figure, _, section = finished_example(tmp_path)
    result = run_all("--out", out, "--models-dir", models, "--resume", "--only", "visualizations")
    assert result.returncode == 0, result.stderr
    assert "finished in an earlier run (12 s), kept" in result.stdout
    assert section in (out / "summary.md").read_text()
    assert figure.read_bytes() == b"not really a png"  # not regenerated


def test_a_record_counts_only_for_its_output_folder_and_while_its_files_exist(tmp_path):
    import run_all as driver

    out, _, figure, record, section = finished_example(tmp_path)
    assert driver.finished_run(str(record), str(out.resolve()))["section"] == section
    assert driver.finished_run(str(record), str(tmp_path / "elsewhere")) is None
    assert (
        driver.finished_run(str(record.with_name("misprediction_full.json")), str(out.resolve()))
        is None
    )
    figure.unlink()
    assert driver.finished_run(str(record), str(out.resolve())) is None
