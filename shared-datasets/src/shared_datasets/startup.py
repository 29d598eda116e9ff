"""Quiet start-up of the Keras backends for the workspace's command-line entry points.

The examples and experiments of xcsvm, rbkernels and innvestigate all load their data through
shared-datasets, so their entry points share this helper. On a machine without an NVIDIA GPU,
TensorFlow 2.21 writes start-up lines to the process' standard error that say nothing about
the run:

* absl's banner ``WARNING: All log messages before absl::InitializeLog() is called are
  written to STDERR``;
* INFO lines (``oneDNN custom operations are on``, ``Could not find cuda drivers on your
  machine``, ``This TensorFlow binary is optimized to use available CPU instructions``),
  logged while TensorFlow's shared libraries load, before ``TF_CPP_MIN_LOG_LEVEL`` is read;
* ``E0000 ... failed call to cuInit: ... UNKNOWN ERROR (303)`` when the first tensor is
  placed and CUDA finds no device. It is logged as an error, so ``TF_CPP_MIN_LOG_LEVEL=2``
  keeps it, and level 3 would hide every real TensorFlow error with it.

:func:`quiet_backend_startup` imports TensorFlow and places a first tensor while file
descriptor 2 is captured, then writes back every captured line that is not one of those
(:func:`is_startup_noise`): Python warnings, tracebacks and other errors pass unchanged. The
``cuInit`` line is dropped only where no NVIDIA device exists; on a GPU machine it is a real
error. Under JAX on a machine without an NVIDIA device, ``JAX_PLATFORMS=cpu`` (unless set)
keeps JAX from probing for CUDA plugins. Nothing is forced to the CPU where a GPU exists.

``python -m package.module`` imports ``package`` before the module's ``__main__`` block runs,
so a package that imports Keras at import time (rbkernels) has loaded TensorFlow by then and
only the ``cuInit`` line can still be caught. Such a module is started quietly with this
module as launcher::

    python -m shared_datasets.startup rbkernels.experiments.reproduce --quick --out DIR

Examples
--------
>>> from shared_datasets.startup import is_startup_noise
>>> is_startup_noise("E0000 00:00:1.5 1 cuda_platform.cc:52] failed call to cuInit: "
...                  "INTERNAL: CUDA error: UNKNOWN ERROR (303)", gpu_present=False, min_log_level=2)
True
>>> is_startup_noise("E0000 00:00:1.5 1 op_kernel.cc:1] OOM when allocating tensor",
...                  gpu_present=False, min_log_level=2)
False
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence

__all__ = ["quiet_backend_startup", "is_startup_noise", "nvidia_gpu_present", "keras_backend_name"]

_ABSL_BANNER = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
)
# absl's prefix: severity letter, MMDD, time, thread id, file:line]
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w./-]+:\d+\] ")
# The second line of cpu_feature_guard's INFO message.
_CPU_FEATURES = re.compile(
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$"
)
_LEVELS = {"I": 0, "W": 1, "E": 2, "F": 3}


def nvidia_gpu_present() -> bool:
    """Whether the machine has an NVIDIA device (Linux device files, the driver, or WSL's GPU)."""
    return bool(
        os.path.exists("/dev/nvidiactl")
        or glob.glob("/dev/nvidia[0-9]*")
        or os.path.exists("/proc/driver/nvidia/version")
        or os.path.exists("/dev/dxg")
    )


def keras_backend_name() -> str:
    """The backend Keras will load, found as Keras does without importing it.

    ``KERAS_BACKEND``, else the ``backend`` of ``$KERAS_HOME/keras.json`` (default
    ``~/.keras``), else ``"tensorflow"``.
    """
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            return str(json.load(f).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def is_startup_noise(line: str, gpu_present: bool, min_log_level: int) -> bool:
    """Whether ``line`` (captured during TensorFlow's start-up) is one to drop.

    Parameters
    ----------
    line : str
        One line, without its newline.
    gpu_present : bool
        Whether the machine has an NVIDIA device; the ``cuInit`` failure is dropped only without one.
    min_log_level : int
        ``TF_CPP_MIN_LOG_LEVEL``: absl INFO lines are dropped from 1, WARNING lines from 2, as
        TensorFlow itself does once it has read the variable (ERROR lines from 3).

    Returns
    -------
    bool
    """
    if line == _ABSL_BANNER:
        return True
    if _CPU_FEATURES.match(line):
        return min_log_level >= 1
    match = _ABSL_LINE.match(line)
    if match is None:
        return False
    level = _LEVELS[match.group(1)]
    if level < min_log_level:
        return True
    return not gpu_present and level == 2 and "failed call to cuInit" in line


def _min_log_level() -> int:
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def quiet_backend_startup() -> None:
    """Starts the Keras backend without its start-up lines about a missing GPU.

    Call it at the top of a command-line entry point, before Keras is imported (after, only the
    first tensor's placement is captured: the lines written while TensorFlow loaded are out). Sets
    ``TF_CPP_MIN_LOG_LEVEL=2`` unless set (TensorFlow's own INFO and WARNING lines), then,
    for TensorFlow, imports it and places a first tensor with standard error captured, and
    writes back the captured lines that :func:`is_startup_noise` keeps. For JAX on a machine
    without an NVIDIA device, sets ``JAX_PLATFORMS=cpu`` unless set. A library should not
    call it: it changes the process' environment and standard error.

    Examples
    --------
    >>> from shared_datasets.startup import quiet_backend_startup
    >>> quiet_backend_startup()  # doctest: +SKIP
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    gpu = nvidia_gpu_present()
    backend = keras_backend_name()
    if backend == "jax" and not gpu:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if backend != "tensorflow":
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.zeros(())  # places a tensor: CUDA is probed here
        except ImportError:
            pass  # Keras will say that TensorFlow is missing, when it is imported
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            level = _min_log_level()
            kept = [ln for ln in text.splitlines() if not is_startup_noise(ln, gpu, level)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m shared_datasets.startup MODULE [ARG ...]``: runs ``python -m MODULE ARG ...``
    after :func:`quiet_backend_startup`."""
    import runpy

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-"):
        sys.exit(
            "usage: python -m shared_datasets.startup MODULE [ARG ...] (runs python -m MODULE ARG ...)"
        )
    quiet_backend_startup()
    sys.argv = argv
    runpy.run_module(argv[0], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
