"""The command line's runs keep the memory they free, for their next arrays, instead of returning it.

glibc's malloc gives every large array its own mapping (above a threshold that starts at 128 KB and rises to
32 MB at most as such arrays are freed) and unmaps it when the array is freed, so the next array of a large
run starts on fresh pages, which the operating system zeroes and maps one fault at a time: at 1,000 devices,
29 to 40 % of the flagship's CPU time was that system time. Asked to keep freed memory (no mappings per
array, no trimming of the heap), the process reuses its pages. It then holds its peak memory until it exits,
and fragmentation adds a little to that peak (docs/cli.md#memory). Threads allocate from that same heap
(one arena): otherwise each thread's arena would hold, or give back, memory the others cannot reuse, such as a
file a reading thread decodes and the main thread then concatenates.

NumPy asks Linux for transparent huge pages (2 MB) under every large array. On a virtual machine that hands free
memory back to its host (free page reporting works on 2 MB blocks) each such page may have to be found and
mapped again by the host: here 800 MB of new arrays took 1.4 to 3.8 s of system time in 4 fresh processes out
of 10 (0.09 to 0.13 s in the others), against 0.22 to 0.26 s every time on ordinary pages, and the flagship at
1,000 devices ran 18.6 s instead of 22.8 (medians of four, taking turns). Runs therefore use ordinary pages for arrays.

Arrow's buffers come from its jemalloc pool rather than its default (mimalloc). mimalloc keeps what a thread
frees in that thread's own pages: after the flagship's reading threads were done, 90 to 340 MB of pages stayed
with Arrow, holding 15 MB of arrays, through the steps that set the run's peak. jemalloc hands freed pages
back after a second: the flagship's peak fell by about 110 MB, for a fifth more page faults and no slower a
run (docs/cli.md#memory).

Only the command line does this, for ``kernel run`` and ``kernel showcase run``: a program that imports the
kernel keeps its own allocator settings. ``KERNEL_RETURN_FREED_MEMORY=1`` turns it off; a ``GLIBC_TUNABLES``
that sets any ``glibc.malloc`` tunable is left to decide alone about malloc, ``NUMPY_MADVISE_HUGEPAGE``
(NumPy's own setting) about huge pages, and ``ARROW_DEFAULT_MEMORY_POOL`` (Arrow's) about Arrow's pool.
"""

from __future__ import annotations

import os
import sys

RETURN_FREED = "KERNEL_RETURN_FREED_MEMORY"
HUGE_PAGES = "NUMPY_MADVISE_HUGEPAGE"  # NumPy reads it when it is imported
ARROW_POOL = "ARROW_DEFAULT_MEMORY_POOL"  # so does Arrow
_M_TRIM_THRESHOLD = -1  # mallopt's parameters, from glibc's malloc.h
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8
_NEVER_TRIM = -1  # the threshold is a size_t: -1 is the largest, so the heap is never trimmed


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory in this process; ``False`` when it was not asked (turned off,
    settings of the user's own, or not glibc)."""
    if os.environ.get(RETURN_FREED, "") not in ("", "0"):
        return False
    _ordinary_pages_for_arrays()
    _arrow_pool_that_gives_back()
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
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


def _ordinary_pages_for_arrays() -> None:
    """NumPy's arrays on ordinary pages, unless the user chose with ``NUMPY_MADVISE_HUGEPAGE``; processes the
    run starts inherit the choice."""
    if HUGE_PAGES in os.environ:
        return
    os.environ[HUGE_PAGES] = "0"
    numpy = sys.modules.get("numpy")  # imported already: tell it directly
    switch = getattr(getattr(getattr(numpy, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
    if switch is not None:
        switch(False)


def _arrow_pool_that_gives_back() -> None:
    """Arrow's jemalloc pool, unless the user chose with ``ARROW_DEFAULT_MEMORY_POOL``; processes the run starts
    inherit the choice. An Arrow built without jemalloc says so once on stderr and keeps its default."""
    if ARROW_POOL in os.environ:
        return
    pyarrow = sys.modules.get("pyarrow")  # imported already: its default pool is chosen, tell it directly
    if pyarrow is not None:
        try:
            pyarrow.set_memory_pool(pyarrow.jemalloc_memory_pool())
        except (AttributeError, NotImplementedError):
            return  # no jemalloc in this build: Arrow's default, here and in the processes the run starts
    os.environ[ARROW_POOL] = "jemalloc"
