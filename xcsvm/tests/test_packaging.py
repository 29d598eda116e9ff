"""The wheel's file selection: the PEP 561 marker and the stubs of the compiled kernels ship."""

from pathlib import Path

import pytest

pytest.importorskip("hatchling")

ROOT = Path(__file__).resolve().parents[1]


def _wheel_files() -> set[str]:
    from hatchling.builders.wheel import WheelBuilder

    # Hatch's selection of files for the wheel, without running the build hook (no compilation).
    return {f.distribution_path for f in WheelBuilder(str(ROOT)).recurse_included_files()}


def test_wheel_ships_py_typed_and_a_stub_for_every_compiled_module():
    files = _wheel_files()
    assert "xcsvm/py.typed" in files
    pyx = sorted(
        p.relative_to(ROOT / "src").with_suffix(".pyi").as_posix()
        for p in (ROOT / "src").rglob("*.pyx")
    )
    assert len(pyx) >= 6  # ww, llw, cs, sparse_ops, multilabel, distributed/_sweeps
    assert set(pyx) <= files
