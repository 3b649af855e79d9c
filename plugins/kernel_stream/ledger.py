"""The stream's ledger: one JSON line per batch, written ahead of the batch and again when it is done.

A batch is started (``start``: its sequence number, the file's name, size and content hash, or the clock of
a batch without a file) before its run, and finished (``done`` or ``rejected``) after its outputs are in the
sink. Each line is written with one ``write`` and synced. A line cut by a kill is not a line: reading stops
before it. After a kill the last batch may be started and not finished: the stream runs exactly it again,
which the window state store treats as a redo (the same records again start from the state before them),
so its outputs come out as one undisturbed run's and replace any part it had written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEDGER = "ledger.jsonl"


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


@dataclass
class Ledger:
    """What the stream in ``state_dir`` has started and finished."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, state_dir: Path) -> Ledger:
        path = state_dir / LEDGER
        ledger = cls(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return ledger
        good = 0
        for line in raw.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break  # cut by a kill: never finished, never counted
            try:
                ledger.entries.append(json.loads(line))
            except ValueError:
                break
            good += len(line)
        if good < len(raw):  # drop the torn tail, so that the next line starts on a line of its own
            with path.open("r+b") as stream:
                stream.truncate(good)
                os.fsync(stream.fileno())
        return ledger

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.entries.append(entry)

    @property
    def finished(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Finished batches of files, by (file name, content hash)."""
        return {(e["file"], e["hash"]): e for e in self.entries
                if e.get("event") in ("done", "rejected") and e.get("file") is not None}

    @property
    def next_seq(self) -> int:
        return max((int(e["seq"]) for e in self.entries if "seq" in e), default=-1) + 1

    @property
    def ended(self) -> bool:
        """Whether a final batch (every open window flushed) is done: the stream is over."""
        return any(e.get("event") == "done" and e.get("final") for e in self.entries)

    def unfinished(self) -> dict[str, Any] | None:
        """The last batch started and neither done nor rejected (a kill came in between), if any."""
        batches = [e for e in self.entries if e.get("event") in ("start", "done", "rejected")]
        if not batches or batches[-1].get("event") != "start":
            return None
        return batches[-1]
