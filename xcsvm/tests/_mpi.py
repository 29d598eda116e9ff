"""Start ``mpiexec`` from a test: the mpiexec next to ``sys.executable``, with a timeout.

The machine that runs the tests has 2 cores; 3 or 4 ranks oversubscribe it.
MPICH busy-polls by default, which makes oversubscribed ranks steal each
other's time slices; the two CVARs below make a waiting rank yield the CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MPIEXEC = Path(sys.executable).with_name("mpiexec")

MPI_ENV = {
    # Yield the core while waiting in MPI (oversubscribed ranks).
    "MPIR_CVAR_ENABLE_HEAVY_YIELD": "1",
    "MPIR_CVAR_POLLS_BEFORE_YIELD": "1",
    # One OpenMP thread per rank unless a test asks for more.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONUNBUFFERED": "1",
}


def mpiexec_available() -> bool:
    return MPIEXEC.exists()


def run_mpi(n_ranks: int, *programs, timeout: float = 60.0, extra_env=None):
    """Run ``mpiexec -n n_ranks python <program...>``; MPMD when several programs.

    Parameters
    ----------
    n_ranks : int
        Ranks per program.
    *programs : list of str
        Python arguments of each program (after ``python``).
    timeout : float
        Seconds before the job is killed and the test fails.

    Returns
    -------
    (subprocess.CompletedProcess, float)
        The finished process (text output) and its wall time in seconds.
    """
    command = [str(MPIEXEC)]
    for k, program in enumerate(programs):
        if k:
            command.append(":")
        command += ["-n", str(n_ranks), sys.executable, *map(str, program)]
    env = {**os.environ, **MPI_ENV, **(extra_env or {})}
    start = time.perf_counter()
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE
    )
    return completed, time.perf_counter() - start
