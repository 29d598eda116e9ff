"""The build hook's compiler flags: OpenMP where it works, a serial build where it does not."""

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("hatchling")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # xcsvm/hatch_build.py
import hatch_build
from setuptools._distutils.ccompiler import new_compiler
from setuptools._distutils.errors import CompileError
from setuptools._distutils.sysconfig import customize_compiler

needs_cc = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("gcc") is None, reason="needs GCC on Linux"
)


def _system_compiler():
    compiler = new_compiler()
    customize_compiler(compiler)
    return compiler


class _RecordingMSVC:
    """Stands in for MSVC: every probe compiles; records the flags tried."""

    compiler_type = "msvc"

    def __init__(self):
        self.tried = []

    def compile(self, sources, output_dir=None, extra_postargs=None):
        self.tried.append(list(extra_postargs or []))
        return ["probe.obj"]

    def link_executable(self, objects, name, output_dir=None, extra_postargs=None):
        pass


@needs_cc
def test_gcc_gets_openmp_and_the_loop_alignment(monkeypatch):
    monkeypatch.delenv("XCSVM_NO_OPENMP", raising=False)
    compile_args, link_args = hatch_build.compiler_flags(_system_compiler())
    assert compile_args == ["-O3", "-falign-loops=64", "-fopenmp"]
    assert link_args == ["-fopenmp"]


@needs_cc
def test_compiler_without_openmp_builds_serial_with_a_warning(monkeypatch, capsys):
    monkeypatch.delenv("XCSVM_NO_OPENMP", raising=False)
    compiler = _system_compiler()
    real_compile = compiler.compile

    def compile_without_openmp(sources, *args, extra_postargs=None, **kwargs):
        if any("openmp" in flag for flag in extra_postargs or []):
            raise CompileError("omp.h: No such file or directory")
        return real_compile(sources, *args, extra_postargs=extra_postargs, **kwargs)

    monkeypatch.setattr(compiler, "compile", compile_without_openmp)
    compile_args, link_args = hatch_build.compiler_flags(compiler)
    assert compile_args == ["-O3", "-falign-loops=64"]
    assert link_args == []
    assert "no working OpenMP" in capsys.readouterr().err


@needs_cc
def test_no_openmp_environment_variable_builds_serial(monkeypatch, capsys):
    monkeypatch.setenv("XCSVM_NO_OPENMP", "1")
    assert hatch_build.compiler_flags(_system_compiler()) == (["-O3", "-falign-loops=64"], [])
    assert "XCSVM_NO_OPENMP is set" in capsys.readouterr().err


def test_msvc_gets_its_own_flags_and_no_gcc_ones(monkeypatch):
    monkeypatch.delenv("XCSVM_NO_OPENMP", raising=False)
    compiler = _RecordingMSVC()
    assert hatch_build.compiler_flags(compiler) == (["/O2", "/openmp"], [])
    assert all(not flag.startswith("-") for flags in compiler.tried for flag in flags)
