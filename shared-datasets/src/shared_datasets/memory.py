"""Memory estimates checked before allocating: a request the machine cannot hold is
refused at once with the estimate, instead of swapping or dying with ``MemoryError``.
"""

from __future__ import annotations

import os

from .errors import InsufficientMemoryError

__all__ = ["available_memory", "check_memory", "format_bytes"]


def available_memory() -> int:
    """Bytes the machine can still give this process.

    ``MemAvailable`` of ``/proc/meminfo`` (free plus reclaimable page cache) where it
    exists, otherwise the physical memory size; never below 64 MiB.

    Examples
    --------
    >>> from shared_datasets.memory import available_memory
    >>> available_memory() > 2**26
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return max(int(line.split()[1]) * 1024, 2**26)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return max(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), 2**26)
    except (ValueError, OSError, AttributeError):
        return 2**40  # unknown platform: do not refuse anything


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``.

    Examples
    --------
    >>> from shared_datasets.memory import format_bytes
    >>> format_bytes(3 * 2**30), format_bytes(10)
    ('3.0 GiB', '10 B')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def check_memory(estimate: float, what: str, *, hint: str) -> None:
    """Raise :class:`InsufficientMemoryError` when ``estimate`` bytes exceed what is available.

    Parameters
    ----------
    estimate : float
        Peak bytes the request will allocate (an upper estimate).
    what : str
        The request, named in the message.
    hint : str
        What to do instead.

    Examples
    --------
    >>> from shared_datasets.memory import check_memory
    >>> check_memory(1e3, "a tiny array", hint="-")
    >>> check_memory(1e20, "make_lshtc_like(n_samples=10**18)", hint="ask for fewer samples")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shared_datasets.errors.InsufficientMemoryError: make_lshtc_like(n_samples=10**18) needs about 88817.8 PiB of memory, but only ... is available on this machine; ask for fewer samples
    """
    available = available_memory()
    if estimate > available:
        raise InsufficientMemoryError(
            f"{what} needs about {format_bytes(estimate)} of memory, but only {format_bytes(available)} "
            f"is available on this machine; {hint}"
        )
