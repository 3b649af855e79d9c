"""structlog configuration for the command line. The library logs, but never configures logging."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO

import orjson
import structlog

LEVELS = ("debug", "info", "warning", "error")


class _JsonLinesLogger:
    """Writes rendered JSON lines to a buffered file, flushing on warnings and errors.

    A flush per line (structlog's BytesLogger) is a system call per step; the handle is flushed
    when the command line closes it.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def _write(self, message: bytes) -> None:
        self._handle.write(message + b"\n")

    def _write_flush(self, message: bytes) -> None:
        self._handle.write(message + b"\n")
        self._handle.flush()

    debug = info = msg = _write
    warning = error = critical = exception = _write_flush


def configure_run_log(path: Path, level: str = "info") -> IO[bytes]:
    """Send every kernel log event to ``path`` as JSON lines; return the open file for the caller to close."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt=None, key="ts"),  # seconds since the epoch: cheap per line
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=lambda *_: _JsonLinesLogger(handle),
        cache_logger_on_first_use=False,
    )
    return handle


def configure_quiet() -> None:
    """Drop log events below warnings (commands that do not run a pipeline)."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.dev.ConsoleRenderer(colors=False)],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
