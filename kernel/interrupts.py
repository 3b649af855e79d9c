"""SIGINT and SIGTERM while a run lasts: stop the run cleanly, never half-way through a commit.

Python can handle signals only in the main thread, so a run executed there installs these handlers for
its length and puts the previous ones back after. A run in another thread leaves signals alone.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Raised in the orchestrating thread when a signal stops a run; ``exit_code`` is 128 + the signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def interrupt(signum: int, frame: FrameType | None) -> None:
    """A signal handler: the signal as :class:`RunInterrupted`, where the main thread is."""
    raise RunInterrupted(signum)


def stop_reason(exc: BaseException) -> tuple[str, int]:
    """What stopped a run, as (reason, exit code): a signal, Ctrl-C, or a ``SystemExit`` raised inside it."""
    if isinstance(exc, RunInterrupted):
        return str(exc), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)", 128 + signal.SIGINT
    return f"stopped by SystemExit({exc.args[0] if exc.args else ''})", 128 + signal.SIGINT


class SignalGuard:
    """The run's handlers. ``phase`` decides what a signal does:

    - ``running``: raise :class:`RunInterrupted` (the run stops, its staged writes are discarded);
    - ``committing`` and ``finalizing``: remember it and go on (a commit is never cut in half, and the
      record of an interrupted run is always finished); a signal kept during a commit is delivered
      again, to the handler before the run's, once the run has ended;
    - ``after_run``: raise again (a second Ctrl-C stops a slow report).
    """

    def __init__(self) -> None:
        self.phase = "running"
        self.kept: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.phase == "running":
            self.phase = "stopping"
            raise RunInterrupted(signum)
        if self.phase == "after_run":
            raise RunInterrupted(signum)
        if self.phase == "committing" and self.kept is None:
            self.kept = signum

    def restore(self) -> None:
        """Put the previous handlers back; deliver a signal kept during a commit to them."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
        if self.kept is not None:
            kept, self.kept = self.kept, None
            signal.raise_signal(kept)
