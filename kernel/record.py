"""The run record: what happened in a run, written to ``run.json`` as the run goes."""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from copy import deepcopy
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
INTERRUPTED = "interrupted"
NOT_SELECTED = "not selected"  # left out of a partial run (--from, --to, --only, --tags)


# Without slots: orjson reads a dataclass's __dict__ directly, 5x faster than through slots, and
# run.json is written in full at the end of every run.
@dataclass
class StepRecord:
    name: str
    uses: str
    plugin: str
    needs: dict[str, str] = field(default_factory=dict)  # input name -> "step.output" it reads
    status: str = PENDING
    attempts: int = 0
    start_s: float | None = None  # seconds after the run's start (monotonic clock)
    duration_s: float | None = None
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    partitions: int | None = None  # the parts it ran in, when the pipeline partitions it
    error_at: str | None = None  # "path:line in function" of the step's own code where it failed
    traceback: str | None = None  # the failed attempt's traceback
    skipped_because: str | None = None
    datasets: list[DatasetIO] = field(default_factory=list)
    cache: str | None = None  # "hit" (outputs reused, not run) or "miss", when a plugin answers reuse_step
    cache_key: str | None = None
    cache_reason: str | None = None  # why a miss ran
    saved_s: float | None = None  # a hit: how long the step took when it ran


@dataclass(slots=True)
class ListenerError:
    signal: str
    receiver: str
    error: str


@dataclass(slots=True)
class ListenerTime:
    """How often a receiver was called in the run and how long it took in all (seconds)."""

    calls: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class StagedRecord:
    """A write a step staged, and what became of it: ``staged``, ``committed`` or ``discarded``."""

    step: str
    kind: str
    status: str = "staged"
    error: str | None = None


SCHEMA_VERSION = 1  # of run.json; a reader refuses a version it does not know


@dataclass(slots=True)
class RunRecord:
    """What ``run.json`` holds: the run, each step (with what it reads: ``needs``), signals, listeners,
    staged writes and the artifacts plugins made (``Run.add_artifact``)."""

    run_id: str
    pipeline: str
    run_dir: str
    params: dict[str, Any]
    workers: int
    executor: str = "inline"  # where step attempts ran (docs/executors.md)
    dashboard: str | None = None  # the executor's dashboard, when it has one (Dask's)
    plugins: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    status: str = RUNNING
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    error: str | None = None
    exit_code: int | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    signals: Counter[str] = field(default_factory=Counter)
    listener_errors: list[ListenerError] = field(default_factory=list)
    listeners: dict[str, ListenerTime] = field(default_factory=dict)  # receiver -> calls and time
    staged: list[StagedRecord] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)  # name -> path, added by plugins (a report...)
    schema_version: int = SCHEMA_VERSION
    # The earlier attempts of a resumed run (``--resume``): status, started_at, finished_at, error of each
    resumed: list[dict[str, Any]] = field(default_factory=list)
    selection: dict[str, list[str]] | None = None  # a partial run's --from, --to, --only, --tags
    # Under an executor that keeps frames on its workers: step summaries received, and the frames brought
    # to the orchestrator (by a listener that read one, or for the caller) with their size in memory
    transfer: dict[str, int] | None = None

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
                "listeners": self.listeners,
                "staged": self.staged,
                "artifacts": self.artifacts,
            }
        # orjson serialises the dataclasses natively: this runs on runs of any size.
        return orjson.dumps(record, default=_default, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    def copy(self) -> RunRecord:
        """A copy that no later change to this record reaches, nor any change to the copy this record.

        What the last signal's receivers are given. Step records are copied through their ``__dict__``:
        building them with their ``__init__``, as reading run.json back does, cost four times as much, and
        the last signal is sent at the end of every run, with a record of every step.
        """
        steps: dict[str, StepRecord] = {}
        for name, step in self.steps.items():
            twin = object.__new__(StepRecord)
            state = twin.__dict__
            state.update(step.__dict__)
            state["needs"], state["rows_in"], state["rows_out"] = dict(step.needs), dict(step.rows_in), dict(
                step.rows_out
            )
            state["datasets"] = list(step.datasets)  # DatasetIO is frozen: shared
            steps[name] = twin
        header = {name: deepcopy(getattr(self, name)) for name in _RUN_FIELDS}
        return RunRecord(
            **header,
            steps=steps,
            signals=Counter(self.signals),
            listener_errors=[ListenerError(e.signal, e.receiver, e.error) for e in self.listener_errors],
            listeners={name: ListenerTime(t.calls, t.seconds) for name, t in self.listeners.items()},
            staged=[StagedRecord(s.step, s.kind, s.status, s.error) for s in self.staged],
            artifacts=dict(self.artifacts),
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        version = data.get("schema_version", SCHEMA_VERSION)  # run.json from before versions: version 1
        if version != SCHEMA_VERSION:
            raise ValueError(f"run.json has schema version {version!r}; this kernel reads {SCHEMA_VERSION}")
        steps = {}
        for name, s in data.pop("steps", {}).items():
            s["datasets"] = [DatasetIO(**d) for d in s.get("datasets", [])]
            steps[name] = StepRecord(**s)
        errors = [ListenerError(**e) for e in data.pop("listener_errors", [])]
        signals = Counter(data.pop("signals", {}))
        listeners = {name: ListenerTime(**t) for name, t in data.pop("listeners", {}).items()}
        staged = [StagedRecord(**s) for s in data.pop("staged", [])]
        return cls(**data, steps=steps, signals=signals, listener_errors=errors, listeners=listeners, staged=staged)

    @classmethod
    def read(cls, run_dir: str | Path) -> RunRecord:
        return cls.from_json(orjson.loads((Path(run_dir) / "run.json").read_bytes()))


_RUN_FIELDS = tuple(
    f.name
    for f in fields(RunRecord)
    if f.name not in ("steps", "signals", "listener_errors", "listeners", "staged", "artifacts")
)


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):  # the read-only views listeners see
        return dict(value)
    return str(value)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class RecordWriter:
    """Writes ``run.json`` atomically: at the start, about once a second while the run goes on (from a
    thread of its own, so a long step shows as running), and in full at the end.

    The background write costs the run's own loop nothing per step: it serialises the record while
    holding the interpreter lock (orjson), so it sees a consistent record, and only when it changed.
    """

    def __init__(self, record: RunRecord, path: Path, interval_s: float = 1.0) -> None:
        self.record = record
        self.path = path
        self.interval_s = interval_s
        self.error: OSError | None = None  # the last write that failed (a full disk), if any
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: tuple[int, int] | None = None

    def _state(self) -> tuple[int, int]:
        record = self.record
        return sum(record.signals.values()), len(record.listener_errors)

    def write(self, *, final: bool = False) -> None:
        """Write now (``final``: every step, also those not started); raises ``OSError`` if it cannot."""
        with self._lock:
            state = self._state()
            data = self.record.dumps(started_only=not final)
            with atomic_path(self.path) as tmp:
                tmp.write_bytes(data)
            self._seen = state

    def start(self) -> None:
        """Keep ``run.json`` current from a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._loop, name="kernel-run-record", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._state() == self._seen:
                continue
            try:
                self.write()
            except OSError as exc:  # a full disk: the run goes on; the final write tries again
                self.error = exc
            except Exception:  # the record changed size while being read: try again next time
                continue
