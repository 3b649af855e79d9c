"""The command line's runs keep the memory they free, for their next arrays, instead of returning it.

glibc's malloc gives every large array its own mapping (above a threshold that starts at 128 KB and rises to
32 MB at most as such arrays are freed) and unmaps it when the array is freed, so the next array of a large
run starts on fresh pages, which the operating system zeroes and maps one fault at a time: at 1,000 devices,
29 to 40 % of the flagship's CPU time was that system time. Asked to keep freed memory (no mappings per
array, no trimming of the heap), the process reuses its pages. It then holds its peak memory until it exits,
and fragmentation adds a little to that peak (docs/cli.md#memory). Threads allocate from that same heap
(one arena): otherwise each thread's arena would hold, or give back, memory the others cannot reuse, such as a
file a reading thread decodes and the main thread then concatenates.

Only the command line does this, for ``kernel run`` and ``kernel showcase run``: a program that imports the
kernel keeps its own allocator settings. ``KERNEL_RETURN_FREED_MEMORY=1`` turns it off; a ``GLIBC_TUNABLES``
that sets any ``glibc.malloc`` tunable is left to decide alone.
"""

from __future__ import annotations

import os

RETURN_FREED = "KERNEL_RETURN_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1  # mallopt's parameters, from glibc's malloc.h
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_NEVER_TRIM = -1  # the threshold is a size_t: -1 is the largest, so the heap is never trimmed


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory in this process; ``False`` when it was not asked (turned off,
    settings of the user's own, or not glibc)."""
    if os.environ.get(RETURN_FREED, "") not in ("", "0") or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    import ctypes  # here: only a run needs it, not every command's start

    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - glibc only: musl and macOS allocators have other settings
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success
    done: bool = (mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM) == 1
                  and mallopt(_M_ARENA_MAX, 1) == 1)
    return done
