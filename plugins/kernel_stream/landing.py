"""The landing directory: which files are complete, and a wake-up when something lands.

A file is complete when it has been renamed into the directory under its final name (the writer wrote it
under a temporary name: starting with a dot, or ending in ``.tmp`` or ``.part``), or, with ``markers``, when
its ``NAME.done`` marker exists. The directory is listed to find them, in the order they landed (modified
time, then name); the operating system's notifications (inotify through watchdog) only wake the stream up,
so a missed notification delays a file and never loses it. Where notifications are not available the
stream polls.
"""

from __future__ import annotations

import fnmatch
import threading
from pathlib import Path
from typing import Any

TEMPORARY = (".tmp", ".part", ".done")
REJECTED = "rejected"


class Landing:
    def __init__(self, directory: Path, pattern: str = "*", *, markers: bool = False) -> None:
        self.directory = directory
        self.pattern = pattern
        self.markers = markers
        self.changed = threading.Event()
        self._observer: Any = None
        self.watching = "polling"

    def complete(self) -> list[Path]:
        """The complete files now in the directory, in the order they landed."""
        found = []
        try:
            entries = list(self.directory.iterdir())
        except FileNotFoundError:
            return []
        names = {p.name for p in entries}
        for path in entries:
            name = path.name
            if name.startswith(".") or name.endswith(TEMPORARY) or not fnmatch.fnmatchcase(name, self.pattern):
                continue
            if self.markers and f"{name}.done" not in names:
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                found.append((stat.st_mtime_ns, name, path))
        return [p for _, _, p in sorted(found)]

    def watch(self, *, poll: bool = False) -> None:
        """Be woken (:attr:`changed`) when something lands; inotify unless ``poll`` or unavailable."""
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        changed = self.changed

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("moved", "created", "closed", "modified"):
                    changed.set()

        self.directory.mkdir(parents=True, exist_ok=True)
        for kind in ([] if poll else [Observer]) + [PollingObserver]:
            observer = kind(timeout=0.1) if kind is PollingObserver else kind()
            try:
                observer.schedule(Wake(), str(self.directory), recursive=False)
                observer.start()
            except OSError:
                continue
            self._observer = observer
            self.watching = "inotify" if kind is Observer else "polling"
            return

    def wait(self, seconds: float) -> bool:
        """Wait until something lands or ``seconds`` pass; whether something landed."""
        woke = self.changed.wait(seconds)
        self.changed.clear()
        return woke

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
