"""quiet_backend_startup drops TensorFlow's start-up lines about a missing GPU and nothing else."""

import os
import subprocess
import sys
import textwrap

import pytest

from shared_datasets.startup import is_startup_noise, keras_backend_name

# Lines TensorFlow 2.21 wrote on a CPU-only machine (with TF_CPP_MIN_LOG_LEVEL=2 set).
BANNER = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = (
    "I0000 00:00:1796303656.148121    8917 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different "
    "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`."
)
NO_DRIVER = (
    "I0000 00:00:1796303656.150057    8917 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used."
)
CPU_FEATURES = (
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags."
)
CUINIT = (
    "E0000 00:00:1796303666.233035    8917 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)
REAL_ERROR = "E0000 00:00:1796303666.233035    8917 op_kernel.cc:1857] OP_REQUIRES failed: OOM"
A_WARNING = "W0000 00:00:1796303666.233035    8917 loader.cc:12] could not load plugin"


@pytest.mark.parametrize(
    "line,gpu,level,dropped",
    [
        (BANNER, False, 0, True),
        (ONEDNN, False, 2, True),
        (ONEDNN, False, 0, False),  # the user asked for INFO lines
        (NO_DRIVER, False, 1, True),
        (CPU_FEATURES, False, 2, True),
        (CPU_FEATURES, False, 0, False),
        (CUINIT, False, 2, True),
        (CUINIT, True, 2, False),  # with an NVIDIA device the failure is a real error
        (REAL_ERROR, False, 2, False),
        (REAL_ERROR, False, 3, True),  # level 3 hides errors, as TensorFlow does
        (A_WARNING, False, 1, False),
        (A_WARNING, False, 2, True),
        ("Traceback (most recent call last):", False, 3, False),
        ("UserWarning: something in Python", False, 3, False),
    ],
)
def test_is_startup_noise(line, gpu, level, dropped):
    assert is_startup_noise(line, gpu_present=gpu, min_log_level=level) is dropped


def test_keras_backend_name(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_backend_name() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert keras_backend_name() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert keras_backend_name() == "torch"


FAKE_TENSORFLOW = f"""
import os, sys, warnings
for line in {[BANNER, ONEDNN, NO_DRIVER, A_WARNING]!r}:
    os.write(2, (line + "\\n").encode())
warnings.warn("a Python warning during import", UserWarning)

def zeros(shape):
    for line in {[CUINIT, REAL_ERROR]!r}:
        os.write(2, (line + "\\n").encode())
"""


@pytest.mark.parametrize("gpu", [False, True])
def test_quiet_backend_startup_keeps_every_other_line(tmp_path, gpu):
    """A stand-in ``tensorflow`` writes the start-up lines to file descriptor 2, as the real one does."""
    (tmp_path / "tensorflow.py").write_text(FAKE_TENSORFLOW)
    code = textwrap.dedent(f"""
        import shared_datasets.startup as startup
        startup.nvidia_gpu_present = lambda: {gpu}
        startup.quiet_backend_startup()
        import os
        print(os.environ["TF_CPP_MIN_LOG_LEVEL"], os.environ.get("JAX_PLATFORMS"))
    """)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "JAX_PLATFORMS")
    }
    env.update(KERAS_BACKEND="tensorflow", PYTHONPATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "None"]
    lines = done.stderr.splitlines()
    assert REAL_ERROR in lines
    assert any("UserWarning: a Python warning during import" in line for line in lines)
    assert (CUINIT in lines) is gpu
    for noise in (BANNER, ONEDNN, NO_DRIVER, A_WARNING):
        assert noise not in lines


def test_jax_on_a_machine_without_gpu_uses_the_cpu_platform():
    code = textwrap.dedent("""
        import os
        import shared_datasets.startup as startup
        startup.nvidia_gpu_present = lambda: False
        startup.quiet_backend_startup()
        print(os.environ.get("JAX_PLATFORMS"))
    """)
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    env["KERAS_BACKEND"] = "jax"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "cpu"
    env["JAX_PLATFORMS"] = "cuda"  # the user's choice stands
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "cuda"


def test_launcher_runs_the_module_as_main_after_a_quiet_start(tmp_path):
    (tmp_path / "tensorflow.py").write_text(FAKE_TENSORFLOW)
    (tmp_path / "entry.py").write_text(
        "import sys\nimport tensorflow\nif __name__ == '__main__':\n    print(sys.argv)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(KERAS_BACKEND="tensorflow", PYTHONPATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "shared_datasets.startup", "entry", "--quick", "--out", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([str(tmp_path / "entry.py"), "--quick", "--out", "x"])
    assert ONEDNN not in done.stderr and REAL_ERROR in done.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "shared_datasets.startup"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        usage.returncode == 1 and "usage: python -m shared_datasets.startup MODULE" in usage.stderr
    )
