"""Communication: counted buffer collectives, class-bundle exchange, abort on error.

Every message goes through :class:`CountingComm`, which calls the uppercase
(buffer) methods of mpi4py and adds the payload size to a per-kind counter, so
that the benchmarks and the tests can report *bytes sent by this rank*. For a
collective (``Allreduce``, ``Bcast``) the counter records the buffer size once
per call, the payload an ideal implementation moves per rank; point-to-point
exchanges record the bytes actually handed to MPI.

Weight bundles travel between matched ranks either *dense* (the rows as they
are) or *sparse* (§4.2.5: only the non-zero entries, as flat indices plus
values); :func:`exchange_rows` picks per message whichever is smaller unless
told otherwise.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections import defaultdict

import numpy as np

__all__ = ["CountingComm", "exchange_rows", "abort_on_error"]

_EXCHANGE_MODES = ("auto", "sparse", "dense")


class CountingComm:
    """An mpi4py communicator that counts the bytes this rank sends.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm
        The communicator to wrap.

    Attributes
    ----------
    bytes_sent : dict of str to int
        Bytes handed to MPI by this rank, by message kind.

    Examples
    --------
    >>> from mpi4py import MPI
    >>> comm = CountingComm(MPI.COMM_SELF)
    >>> total = np.zeros(3)
    >>> comm.allreduce_sum(np.ones(3), total, kind="w_bar")
    >>> total.tolist(), comm.bytes_sent["w_bar"]  # one rank: nothing leaves it
    ([1.0, 1.0, 1.0], 0)
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.bytes_sent: dict[str, int] = defaultdict(int)

    def _count(self, kind: str, n_bytes: int) -> None:
        # A collective on a single rank is a local copy: nothing is sent.
        self.bytes_sent[kind] += n_bytes if self.size > 1 else 0

    def allreduce_sum(self, send: np.ndarray, receive: np.ndarray, kind: str) -> None:
        """Buffer ``Allreduce`` with ``MPI.SUM`` (no pickling)."""
        from mpi4py import MPI

        self.comm.Allreduce(send, receive, op=MPI.SUM)
        self._count(kind, send.nbytes)

    def allreduce_max(self, value: float, kind: str = "control") -> float:
        """Largest ``value`` over all ranks, through a one-element buffer."""
        from mpi4py import MPI

        send = np.array([value], dtype=np.float64)
        receive = np.empty(1, dtype=np.float64)
        self.comm.Allreduce(send, receive, op=MPI.MAX)
        self._count(kind, send.nbytes)
        return float(receive[0])

    def sum_scalars(self, values, kind: str = "control") -> np.ndarray:
        """Elementwise sum over ranks of a short vector of floats."""
        send = np.asarray(values, dtype=np.float64)
        receive = np.empty_like(send)
        self.allreduce_sum(send, receive, kind)
        return receive

    def bcast(self, buffer: np.ndarray, root: int = 0, kind: str = "data") -> None:
        """Buffer ``Bcast`` from ``root``; counted on the root only."""
        self.comm.Bcast(buffer, root=root)
        if self.rank == root:
            self.bytes_sent[kind] += buffer.nbytes * (self.size - 1)

    def sendrecv(self, send: np.ndarray, partner: int, receive: np.ndarray, kind: str) -> None:
        """Buffer ``Sendrecv`` with ``partner`` (send and receive at once)."""
        self.comm.Sendrecv(
            send, dest=partner, sendtag=7, recvbuf=receive, source=partner, recvtag=7
        )
        self.bytes_sent[kind] += send.nbytes

    def exchange_bytes(
        self, send: np.ndarray, partner: int, capacity: int, kind: str
    ) -> np.ndarray:
        """Swap byte buffers with ``partner`` when the receiver knows only an upper bound.

        One ``Sendrecv`` into a buffer of ``capacity`` bytes; the status
        tells how many arrived. (``Probe`` + ``Recv`` would do as well but is
        far slower on oversubscribed cores.)
        """
        from mpi4py import MPI

        receive = np.empty(capacity, dtype=np.uint8)
        status = MPI.Status()
        self.comm.Sendrecv(
            send, dest=partner, sendtag=8, recvbuf=receive, source=partner, recvtag=8, status=status
        )
        self.bytes_sent[kind] += send.nbytes
        return receive[: status.Get_count(MPI.BYTE)]

    @property
    def total_bytes(self) -> int:
        """All bytes sent by this rank so far."""
        return int(sum(self.bytes_sent.values()))


def exchange_rows(
    comm: CountingComm, partner: int, rows: np.ndarray, n_receive: int, mode: str = "auto"
) -> np.ndarray:
    """Send ``rows`` (a C-contiguous ``k x d`` block) to ``partner`` and get its block back.

    Both sides call this at the same time (a matched pair of the overlay
    schedule). In sparse mode only the non-zero entries travel, as int64 flat
    positions plus float64 values; the receiver scatters them into zeros, so
    the copy is exact.

    Parameters
    ----------
    comm : CountingComm
        Communicator.
    partner : int
        The matched rank.
    rows : numpy.ndarray of float64, shape (k, d)
        Weight vectors to send (may have ``k = 0``).
    n_receive : int
        Number of rows the partner sends.
    mode : {"auto", "sparse", "dense"}
        ``"auto"`` sends sparse when that is fewer bytes. Both sides must
        pass the same mode.

    Returns
    -------
    numpy.ndarray of float64, shape (n_receive, d)
        The partner's rows.

    Examples
    --------
    >>> from mpi4py import MPI
    >>> comm = CountingComm(MPI.COMM_SELF)
    >>> exchange_rows(comm, 0, np.array([[0.0, 2.0, 0.0]]), 1, mode="sparse").tolist()
    [[0.0, 2.0, 0.0]]
    >>> comm.bytes_sent["bundle"]
    20
    """
    if mode not in _EXCHANGE_MODES:
        raise ValueError(f"exchange mode must be one of {_EXCHANGE_MODES}, got {mode!r}")
    d = rows.shape[1]
    received = np.zeros((n_receive, d), dtype=np.float64)
    if mode == "dense":
        comm.sendrecv(np.ascontiguousarray(rows), partner, received, kind="bundle")
        return received
    flat = rows.reshape(-1)
    my_index = np.int32 if flat.size < 2**31 else np.int64
    partner_index = np.int32 if n_receive * d < 2**31 else np.int64
    positions = np.flatnonzero(flat).astype(my_index)
    # "auto" decides per direction: 4 (or 8) bytes of position + 8 of value
    # per non-zero against 8 bytes per entry. The first 8 bytes of a message
    # say which: the number of non-zeros that follow, or -1 for dense rows.
    my_sparse = (
        mode == "sparse" or positions.size * (np.dtype(my_index).itemsize + 8) < flat.size * 8
    )
    if my_sparse:
        header = np.array([positions.size], dtype=np.int64)
        payload = np.concatenate(
            [header.view(np.uint8), positions.view(np.uint8), flat[positions].view(np.uint8)]
        )
    else:
        payload = np.concatenate(
            [np.array([-1], dtype=np.int64).view(np.uint8), flat.view(np.uint8)]
        )
    # The partner sends at most its dense rows, or (forced sparse) every entry as a non-zero.
    entries = n_receive * d
    capacity = 8 + entries * ((np.dtype(partner_index).itemsize + 8) if mode == "sparse" else 8)
    incoming = comm.exchange_bytes(payload, partner, capacity, kind="bundle")
    count = int(incoming[:8].view(np.int64)[0])
    body = incoming[8:]
    if count >= 0:
        split = count * np.dtype(partner_index).itemsize
        received.reshape(-1)[body[:split].view(partner_index)] = body[split:].view(np.float64)
    else:
        received[...] = body.view(np.float64).reshape(n_receive, d)
    return received


# Seconds between writing the failing rank's message and MPI_Abort (see abort_on_error).
_ABORT_GRACE_SECONDS = 1.0


#: Errors about the input or the environment: every rank usually hits the same one, so each
#: failing rank prints one line with its rank number, not a traceback that repeats per rank.
_USER_ERRORS = (ValueError, TypeError, OSError, MemoryError, KeyboardInterrupt)


def _describe(error) -> str:
    """One line for a user error; the traceback for anything else (a bug to report)."""
    if isinstance(error, _USER_ERRORS):
        return f"error: {type(error).__name__}: {error}\n"
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def announce_ranks(comm) -> str | None:
    """Rank 0 prints which process id each rank is (one gather at start-up).

    MPICH reports a rank that was killed (OOM killer, ``kill -9``, a segfault) by
    its pid only ("BAD TERMINATION ... PID 1234 ... EXIT CODE: 9"); this line
    names the rank behind the pid. Returns the line on rank 0 (None elsewhere).
    """
    import socket

    raw = comm.comm if isinstance(comm, CountingComm) else comm
    size = raw.Get_size()
    if size == 1:
        return None
    # buffer Gather (no pickling): pid and up to 64 bytes of host name per rank
    send = np.zeros(72, dtype=np.uint8)
    send[:8] = np.frombuffer(np.int64(os.getpid()).tobytes(), dtype=np.uint8)
    host = socket.gethostname().encode("utf-8", "replace")[:64]
    send[8 : 8 + len(host)] = np.frombuffer(host, dtype=np.uint8)
    receive = np.zeros((size, 72), dtype=np.uint8) if raw.Get_rank() == 0 else None
    raw.Gather(send, receive, root=0)
    if raw.Get_rank() != 0:
        return None
    assert receive is not None  # allocated on rank 0
    pids = [
        (int(row[:8].view(np.int64)[0]), bytes(row[8:]).rstrip(b"\0").decode("utf-8", "replace"))
        for row in receive
    ]
    line = "[xcsvm] ranks: " + ", ".join(
        f"{r}=pid {pid}@{host}" for r, (pid, host) in enumerate(pids)
    )
    sys.stderr.write(line + " (MPICH names a killed process by its pid)\n")
    sys.stderr.flush()
    return line


def abort_on_error(function, comm=None):
    """Run ``function()``; if it raises on this rank, print the error and abort the job.

    An uncaught exception in one rank would otherwise leave the others
    blocked in their next collective forever. Here the failing rank writes
    ``[xcsvm rank r/size] error: <type>: <message>`` (a user error: bad input,
    missing file; the same line would otherwise repeat as a traceback per
    rank) or ``[xcsvm rank r/size] <traceback>`` (anything else) to stderr
    and calls ``MPI_Abort``,
    which makes ``mpiexec`` kill every rank and exit non-zero within seconds.

    Parameters
    ----------
    function : callable
        Work to run, without arguments.
    comm : mpi4py.MPI.Comm, optional
        Communicator to abort (default ``MPI.COMM_WORLD``).

    Returns
    -------
    object
        What ``function`` returned.

    Examples
    --------
    >>> abort_on_error(lambda: 42)
    42
    """
    from mpi4py import MPI

    comm = MPI.COMM_WORLD if comm is None else comm
    try:
        return function()
    except BaseException as error:
        if isinstance(error, SystemExit) and error.code in (0, None):
            raise
        sys.stderr.write(f"[xcsvm rank {comm.Get_rank()}/{comm.Get_size()}] {_describe(error)}")
        sys.stderr.flush()
        sys.stdout.flush()
        if comm.Get_size() == 1 and not os.environ.get("XCSVM_ABORT_SINGLETON"):
            raise
        # MPI_Abort makes the launcher (MPICH's hydra) kill every process at once; output
        # still in its forwarding pipes is then lost, and the user would see the job die
        # without this rank's message. A short grace lets the launcher forward it first.
        time.sleep(_ABORT_GRACE_SECONDS)
        comm.Abort(1)
