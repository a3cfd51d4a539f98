"""Refuse, before anything is touched, work that needs more memory than the system has.

numpy asks the operating system for large arrays lazily: on Linux an allocation far beyond
the memory left often succeeds, and the process is killed later, when the kernels write
into it. Networks, batches and copies of input whose buffers would not fit therefore raise
MemoryError up front, naming what was asked for.
"""
from __future__ import annotations

# Below this many bytes a request is not worth reading /proc/meminfo for.
SMALL = 64 * 2**20


def available() -> int | None:
    """Bytes the system can still give without swapping (Linux's MemAvailable), or None
    where that is not known."""
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def require(nbytes: int, what: str) -> None:
    """Raise MemoryError if ``what`` needs more than the ``nbytes`` bytes available."""
    if nbytes < SMALL:
        return
    free = available()
    if free is not None and nbytes > free:
        raise MemoryError(f"{what} needs {_size(nbytes)} of memory, and {_size(free)} is available")


def _size(nbytes: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} bytes"
