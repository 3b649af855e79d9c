"""structlog configuration for the command line. The library logs, but never configures logging."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import orjson

LEVELS = ("debug", "info", "warning", "error")

# The command line asks for quiet logging before every command; structlog is imported only once something logs.
_quiet_pending = False


def _structlog() -> ModuleType:
    """structlog, imported without rich: structlog imports rich whenever it is installed, for console
    tracebacks the kernel does not print, and that was 35 ms of every run's start. An exception in the run
    log keeps its frames and their locals; the locals are plain ``repr`` cut at 80 characters instead of
    rich's indented form."""
    if "structlog" not in sys.modules and "rich" not in sys.modules:
        # An import of rich fails while this is here: the first log set-up, on the main thread, before a run's
        # threads start. Once rich is imported (a terminal's live view), nothing is hidden.
        sys.modules["rich"] = None  # type: ignore[assignment]
        try:
            import structlog
        finally:
            del sys.modules["rich"]
    import structlog

    return structlog


def get_logger(name: str) -> Any:
    """The kernel's and its plugins' logger: structlog's when the application configured structlog (the
    command line does), else one that keeps nothing, so that a library call never prints (structlog's
    own default prints every event to stdout)."""
    structlog = _structlog()

    if _quiet_pending:
        _configure_quiet()
    if structlog.is_configured():
        return structlog.get_logger(name)
    # Every level below critical is a no-op in a filtering logger; the kernel logs nothing critical.
    return structlog.wrap_logger(
        None, processors=[_drop], wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL)
    )


def _drop(logger: Any, method: str, event: Any) -> Any:
    raise _structlog().DropEvent


class _JsonLinesLogger:
    """Writes rendered JSON lines to a buffered file, flushing on warnings and errors.

    A flush per line (structlog's BytesLogger) is a system call per step; the handle is flushed
    when the command line closes it. A line that cannot be written (a full disk) is counted in
    :data:`LOST`, never raised: losing a log line must not stop a run or the recording of its end.
    """

    def __init__(self, log: RunLog) -> None:
        self._log = log
        self._handle = log.handle

    def _write(self, message: bytes) -> None:
        try:
            self._handle.write(message + b"\n")
        except (OSError, ValueError) as exc:
            self._log.lost(exc)

    def _write_flush(self, message: bytes) -> None:
        try:
            self._handle.write(message + b"\n")
            self._handle.flush()
        except (OSError, ValueError) as exc:
            self._log.lost(exc)

    debug = info = msg = _write
    warning = error = critical = exception = _write_flush


class RunLog:
    """The open log file of a run, and the lines that could not be written to it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.lost_lines = 0
        self.error: str | None = None

    def lost(self, exc: BaseException) -> None:
        self.lost_lines += 1
        self.error = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        try:
            self.handle.close()
        except OSError as exc:  # the last buffered lines could not be written
            self.lost(exc)


def configure_run_log(path: Path, level: str = "info", *, resumed: bool = False) -> RunLog:
    """Send every kernel log event to ``path`` as JSON lines; return the log for the caller to close.

    The file is made new (never through a symbolic link): it is the run's own. A resumed run appends to
    the log its earlier attempt wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (0 if resumed else os.O_EXCL) | os.O_NOFOLLOW | os.O_APPEND, 0o644)
    log = RunLog(os.fdopen(fd, "ab"))
    structlog = _structlog()

    global _quiet_pending
    _quiet_pending = False
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt=None, key="ts"),  # seconds since the epoch: cheap per line
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=lambda *_: _JsonLinesLogger(log),
        cache_logger_on_first_use=False,
    )
    return log


def configure_quiet() -> None:
    """Drop log events below warnings (commands that do not run a pipeline); done when something first logs."""
    global _quiet_pending
    _quiet_pending = True


def _configure_quiet() -> None:
    structlog = _structlog()

    global _quiet_pending
    _quiet_pending = False
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
