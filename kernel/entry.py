"""The ``kernel`` command's entry point: Ctrl-C and SIGTERM are handled from its first moment.

Importing the command line (click, pydantic, the plugins' settings) takes a third of a second here. A
signal in that time used to end the command with Python's traceback (Ctrl-C) or with no word at all
(SIGTERM, exit -15). Now it ends it with one line and exit code 128 + the signal, as a signal before a run
starts does: nothing has been written yet. Once the command line is imported, the handlers that were
there before are put back; a run installs its own for its length (:mod:`kernel.interrupts`).
"""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from kernel.interrupts import SIGNALS, RunInterrupted, interrupt
from kernel.startup import one_blas_thread, pause_collector


@contextmanager
def starting() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM end the process in one line (exit 128 + the signal); the
    handlers from before are back once it has ended."""
    try:
        previous = {signum: signal.signal(signum, interrupt) for signum in SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    except RunInterrupted as exc:
        sys.stderr.write(f"error: {exc} while the command was starting; nothing was written\n")
        sys.stderr.flush()
        raise SystemExit(exc.exit_code) from None


def main() -> None:
    one_blas_thread()  # before anything imports NumPy (kernel/startup.py)
    pause_collector()  # back on when the command starts its work
    with starting():
        from kernel.cli import main as command_line
    try:
        command_line()
    finally:
        # The interpreter's exit collects every object the command made or imported (pandas and its kin
        # bring some 200,000): 60-70 ms here, for memory the process hands back anyway. Frozen objects are
        # left out of that pass: those in reference cycles are left to the operating system, as after
        # os._exit. Whatever the kernel writes it has closed by now.
        gc.freeze()
