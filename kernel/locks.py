"""Exclusive locks on the paths a run writes: one run at a time per results directory or state store.

A lock is an advisory file lock (``flock``, through the ``filelock`` library) on a file beside the
path, ``.<name>.lock``, which also says who holds it. The operating system releases the lock when its
process ends, however it ends, so the lock of a killed run is free at once and never needs breaking.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from kernel.errors import KernelError

if TYPE_CHECKING:
    import filelock


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock: written into the lock file, and named to whoever finds it taken."""

    run_id: str
    pipeline: str
    pid: int
    host: str
    since: str
    purpose: str  # e.g. "step 'publish' (settings.path)"

    @classmethod
    def this_process(cls, run_id: str, pipeline: str, purpose: str) -> Holder:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(run_id, pipeline, os.getpid(), socket.gethostname(), now, purpose)

    def describe(self) -> str:
        return (
            f"run {self.run_id} of pipeline '{self.pipeline}' (pid {self.pid} on {self.host}, since "
            f"{self.since}, for {self.purpose})"
        )


class Busy(KernelError):
    """A path the run writes is locked by another run."""


def lock_file(path: str | Path) -> Path:
    """The lock file of ``path``: beside it, named after it. Symbolic links are resolved first, so two
    names of one directory share one lock."""
    real = Path(os.path.realpath(path))
    return real.parent / f".{real.name}.lock"


def read_holder(path: str | Path) -> Holder | None:
    """Who holds (or last held) the lock of ``path``, if the lock file says."""
    try:
        data = orjson.loads(lock_file(path).read_bytes())
        return Holder(**data)
    except (OSError, ValueError, TypeError):
        return None


class PathLock:
    """The lock of one path, held by one run. Not re-entrant: a second ``PathLock`` on the same path,
    in this process or another, is refused while the first is held."""

    def __init__(self, path: str | Path, holder: Holder) -> None:
        self.path = Path(path)
        self.holder = holder
        self.file = lock_file(path)
        import filelock  # here: a run that claims no path outside its directory never loads it (5 ms)

        self._lock: filelock.FileLock = filelock.FileLock(
            self.file, thread_local=False, preserve_lock_file=True, on_acquired=self._write_holder
        )

    def _write_holder(self, fd: int) -> None:
        data = orjson.dumps(asdict(self.holder))
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    def acquire(self, *, wait: bool = False, on_wait: Callable[[PathLock, Holder | None], None] | None = None) -> None:
        """Take the lock. When another run holds it: raise :class:`Busy`, or with ``wait`` tell ``on_wait``
        who holds it and wait until it is free."""
        import filelock

        self.file.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
            return
        except filelock.Timeout:
            if not wait:
                raise self._busy() from None
        if on_wait is not None:
            on_wait(self, read_holder(self.path))
        self._lock.acquire(timeout=-1, poll_interval=0.1)

    def _busy(self) -> Busy:
        holder = read_holder(self.path)
        who = holder.describe() if holder is not None else "another run"
        return Busy(f"in use by {who}; wait for it with --wait, or use another path", file=self.path)

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    @property
    def held(self) -> bool:
        return bool(self._lock.is_locked)
