"""The run record: what happened in a run, written to ``run.json`` as the run goes."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from kernel.atomic import atomic_path
from kernel.steps import DatasetIO

SUCCEEDED = "succeeded"
FAILED = "failed"
BLOCKED = "blocked"
SKIPPED = "skipped"
PENDING = "pending"
RUNNING = "running"


# Without slots: orjson reads a dataclass's __dict__ directly, 5x faster than through slots, and
# run.json is written in full at the end of every run.
@dataclass
class StepRecord:
    name: str
    uses: str
    plugin: str
    status: str = PENDING
    attempts: int = 0
    start_s: float | None = None  # seconds after the run's start (monotonic clock)
    duration_s: float | None = None
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    skipped_because: str | None = None
    datasets: list[DatasetIO] = field(default_factory=list)


@dataclass(slots=True)
class ListenerError:
    signal: str
    receiver: str
    error: str


@dataclass(slots=True)
class RunRecord:
    run_id: str
    pipeline: str
    run_dir: str
    params: dict[str, Any]
    workers: int
    plugins: list[str] = field(default_factory=list)
    status: str = RUNNING
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    error: str | None = None
    exit_code: int | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    signals: Counter[str] = field(default_factory=Counter)
    listener_errors: list[ListenerError] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path, added by plugins (a report...)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.dumps())
        return data

    def dumps(self, *, started_only: bool = False) -> bytes:
        """``run.json``'s bytes; ``started_only`` leaves out steps that have not started yet."""
        record: Any = self
        if started_only:
            header = {name: getattr(self, name) for name in _RUN_FIELDS}
            steps = {name: s for name, s in self.steps.items() if s.status != PENDING}
            record = {
                **header,
                "steps": steps,
                "signals": self.signals,
                "listener_errors": self.listener_errors,
                "artifacts": self.artifacts,
            }
        # orjson serialises the dataclasses natively: this runs on runs of any size.
        return orjson.dumps(record, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        steps = {}
        for name, s in data.pop("steps", {}).items():
            s["datasets"] = [DatasetIO(**d) for d in s.get("datasets", [])]
            steps[name] = StepRecord(**s)
        errors = [ListenerError(**e) for e in data.pop("listener_errors", [])]
        signals = Counter(data.pop("signals", {}))
        return cls(**data, steps=steps, signals=signals, listener_errors=errors)

    @classmethod
    def read(cls, run_dir: str | Path) -> RunRecord:
        return cls.from_json(orjson.loads((Path(run_dir) / "run.json").read_bytes()))


_RUN_FIELDS = tuple(
    f.name for f in fields(RunRecord) if f.name not in ("steps", "signals", "listener_errors", "artifacts")
)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class RecordWriter:
    """Writes ``run.json`` atomically: at the start, at most once a second while running, at the end.

    The throttle keeps the cost per step constant however large the graph is.
    """

    def __init__(self, record: RunRecord, path: Path, interval_s: float = 1.0) -> None:
        self.record = record
        self.path = path
        self.interval_s = interval_s
        self._last = 0.0

    def write(self, *, final: bool = False) -> None:
        data = self.record.dumps(started_only=not final)
        with atomic_path(self.path) as tmp:
            tmp.write_bytes(data)
        self._last = time.monotonic()

    def due(self) -> bool:
        """Whether a write is due (the runner asks every 16th step, so the clock is read rarely)."""
        return time.monotonic() - self._last >= self.interval_s
