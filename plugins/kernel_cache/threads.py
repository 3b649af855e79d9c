"""The cache's threads: pools made when first used and kept for the process, by name.

    writer   one thread beside the steps: a step's frames, then its entry, in the order they were given
    column   a frame's large columns compressed side by side (beside the steps)
    read     a frame's column files read side by side (a step waits for them)
    hash     a large frame's columns fingerprinted side by side (a step waits for them)

A thread starts at the priority of the thread that made it (its pool's first use or a later submit): the
writer's threads are set to the lowest on start; ``read`` and ``hash`` are used from the steps' threads only.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

BESIDE_NICENESS = 19  # the lowest priority: what the steps leave of the CPU

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(name: str, workers: int = 0, *, beside: bool = False) -> ThreadPoolExecutor:
    """The pool ``name``, made on first use with ``workers`` threads (0: one per core); ``beside``: its
    threads yield to the steps (:func:`yield_to_the_steps`)."""
    with _lock:
        found = _pools.get(name)
        if found is None:
            found = _pools[name] = ThreadPoolExecutor(
                max_workers=workers or os.cpu_count() or 1, thread_name_prefix=f"kernel-cache-{name}",
                initializer=yield_to_the_steps if beside else None,
            )
        return found


def made(name: str) -> ThreadPoolExecutor | None:
    """The pool ``name`` if it was made in this process."""
    return _pools.get(name)


def yield_to_the_steps() -> None:
    """Give this thread the lowest priority (Linux, where each thread has its own): storing is done beside the
    steps, whose work is the run's critical path. At equal priority, two compressing threads and a step on two
    cores each had two thirds of a core; at the lowest, the step keeps its core, and with a core to spare such
    a thread runs as fast as any."""
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError):  # a sandbox may refuse it: then at the process's priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BESIDE_NICENESS)
