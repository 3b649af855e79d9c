"""What the ``kernel`` command does for its own start, before it imports anything heavy.

**The garbage collector is paused while the command imports.** Importing pandas, pyarrow, networkx,
pydantic and the plugins makes some 200,000 objects that live as long as the process; the collector's
passes over them found nothing to free and were 70 ms of a two-step run's 0.65 s here. The collector
is back on as soon as a command starts its work: at once for every command, except those that start a
run, where it is back on when the run starts its steps (:func:`resume_collector` from
``Runner.execute``), after the run's imports and its plan. A program that imports the kernel keeps its
collector as it set it: only :func:`kernel.entry.main` pauses it.

**One BLAS thread.** NumPy's OpenBLAS starts a thread per core when NumPy is imported (28 ms of every
run's start on this 2-core machine). The kernel runs steps side by side on its executors' threads,
processes or Dask workers, where BLAS threads in each would only compete for the same cores, so the
command asks for one, as Dask does for its workers (``distributed.nanny.pre-spawn-environ``). A user who
sets ``OPENBLAS_NUM_THREADS``, ``GOTO_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` keeps their
choice. Processes the run starts inherit the setting.
"""

from __future__ import annotations

import gc
import os

# What OpenBLAS (OPENBLAS_, then GOTO_, then OMP_), MKL and OpenMP read when they are loaded.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # as Dask sets them

_paused = False


def pause_collector() -> None:
    """Pause the garbage collector until :func:`resume_collector`; nothing when it is off already."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collector() -> None:
    """Turn the collector back on if :func:`pause_collector` turned it off; otherwise leave it be."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def one_blas_thread() -> bool:
    """Ask BLAS for one thread unless the user chose a number; ``False`` when they did."""
    if any(name in os.environ for name in BLAS_THREADS):
        return False
    for name in _ONE_THREAD:
        os.environ[name] = "1"
    return True
