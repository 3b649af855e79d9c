"""``kernel stream``: each complete file of a landing directory is one batch of the pipeline, run once.

One batch is one run of the pipeline's per-batch steps (all but the ``period`` steps and what follows them)
with the file's path in the ``file`` parameter, ``hold: newest`` and ``state_dir`` under the stream's state
directory: window steps carry their open windows and the batch that may still grow from run to run
(docs/windowing.md#holding-the-open-batch-hold). The outputs named in ``sink`` are appended to the sink as
Parquet parts, one per batch. The ledger (``kernel_stream.ledger``) makes every file count once, whatever
kills the stream; a file whose run fails is moved to ``rejected/`` with its reason.

When no file comes, a batch without a file (the source step is given no rows) releases what waits once its
arrival interval is over by the clock: the wall clock less ``grace`` (``--clock wall``), or only at the end
(``--clock data``, for files whose arrival times are not now).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from kernel import (
    DataError,
    Kernel,
    KernelError,
    RunOptions,
    RunResult,
    atomic_path,
    load_pipeline,
    signals,
    write_text_atomic,
)
from kernel_stream.landing import REJECTED, Landing
from kernel_stream.ledger import Ledger, content_hash
from kernel_stream.settings import StreamSettings
from kernel_stream.sink import merge, read_sink, tidy

KEEP_RUNS = 10  # batch run directories kept under <state>/runs (the ledger keeps every batch)
ALERTS = "alerts.jsonl"
MERGE_MAX_ROWS = 1_000_000  # a merged sink part holds at most this many rows

alert_signal = signals.declare(
    "stream_alert", "A row of the stream's alerts output was written to alerts.jsonl. event: Alert", owner="stream")


@dataclass(frozen=True, slots=True)
class Alert:
    """One row of the alerts output of one batch (``stream_alert``'s event)."""

    pipeline: str
    seq: int  # the batch
    file: str | None  # the landing file it came from (None: a batch without a file released it)
    detected_at: str  # when the stream wrote it (ISO 8601, UTC)
    event_time: str | None  # the alert's own time (``alerts.time_column``)
    row: Mapping[str, Any]


@dataclass(frozen=True)
class StreamOptions:
    pipeline: Path
    landing: Path
    state: Path
    out: Path | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    until_idle: float | None = None  # stop after this many seconds without a file (None: run until stopped)
    clock: Literal["wall", "data"] = "wall"
    grace: float = 2.0  # seconds a file may land after its records' arrival times (--clock wall)
    tick: float = 0.5  # how often, when no file comes, the clock is looked at
    final: bool = False  # at the end, flush every open window (a bounded stream)
    markers: bool = False
    poll: bool = False
    disable: tuple[str, ...] = ("report", "cache")
    every: float | None = None  # seconds between runs of the period steps (None: only when asked, or at the end)
    merge_parts: int = 16  # merge a sink output's parts this many at a time (0 or 1: never; kernel_stream.sink)

    @property
    def sink(self) -> Path:
        return self.out if self.out is not None else self.state / "sink"


@dataclass
class Batch:
    seq: int
    file: str | None
    hold: str | None
    final: bool = False
    hash: str | None = None
    size: int | None = None
    landed: float | None = None  # when the file landed (its modified time), seconds since the epoch

    alerts_at: int = 0  # the size of alerts.jsonl before the batch: a batch run again starts there

    def start_entry(self) -> dict[str, Any]:
        return {"event": "start", "seq": self.seq, "file": self.file, "size": self.size, "hash": self.hash,
                "hold": self.hold, "final": self.final, "landed": self.landed, "alerts_at": self.alerts_at,
                "at": _now()}


@dataclass
class Summary:
    batches: int = 0
    files: int = 0
    rejected: int = 0
    records: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    latencies: list[float] = field(default_factory=list)  # file landed -> its outputs in the sink, seconds

    def line(self) -> str:
        parts = [f"{self.files:,} file(s) in {self.batches:,} batch(es)", f"{self.records:,} records read"]
        if self.rejected:
            parts.append(f"{self.rejected:,} rejected")
        parts += [f"{rows:,} {name}" for name, rows in self.rows.items()]
        if self.alerts:
            parts.append(f"{self.alerts:,} alert(s)")
        if self.latencies:
            ordered = sorted(self.latencies)
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            parts.append(f"latency p50 {statistics.median(ordered):.3f} s, p99 {p99:.3f} s")
        return ", ".join(parts)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Stream:
    def __init__(self, options: StreamOptions, *, kernel: Kernel | None = None,
                 echo: Callable[[str], None] = print) -> None:
        self.options = options
        self.echo = echo
        self.kernel = kernel or Kernel(disable=options.disable, skip_broken=True)
        pipeline = load_pipeline(options.pipeline, {**_placeholders(options), **options.params})
        raw = pipeline.plugin_fields.get("stream")
        if raw is None:
            raise KernelError(f"{options.pipeline}: the pipeline has no 'stream:' section (docs/streaming.md)")
        self.settings = StreamSettings.model_validate(raw)
        plan = self.kernel.plan(pipeline)
        self.name = pipeline.name
        missing = [p for p in (self.settings.file, "hold", "state_dir") if p not in pipeline.params]
        if missing:
            raise KernelError(f"{options.pipeline}: a streamed pipeline has the parameters "
                              f"'{self.settings.file}', 'hold' and 'state_dir': '{missing[0]}' is missing")
        self.has_final = "final" in pipeline.params
        steps = set(plan.steps)
        for name in (self.settings.source_step, *self.settings.period, *(s.split(".")[0] for s in self.settings.sink)):
            if name not in steps:
                raise KernelError(f"{options.pipeline}: stream: no step '{name}'")
        output = self.settings.source_output
        if output is not None and output not in plan.steps[self.settings.source_step].type.outputs:
            raise KernelError(f"{options.pipeline}: stream: step '{self.settings.source_step}' has no output "
                              f"'{output}'")
        import networkx as nx

        later = set(self.settings.period)
        for name in self.settings.period:
            later |= nx.descendants(plan.graph, name)
        self.batch_steps = [s for s in plan.steps if s not in later]
        self.partial = bool(later)
        alerts = (self.settings.alerts.output,) if self.settings.alerts is not None else ()
        for item in (*self.settings.sink, *alerts):
            if item.split(".")[0] not in steps:
                raise KernelError(f"{options.pipeline}: stream: no step '{item.split('.')[0]}'")
            if item.split(".")[0] in later:
                raise KernelError(f"{options.pipeline}: stream: '{item}' is not a per-batch step's output")
        self.plan = plan
        self.period_steps = [s for s in plan.steps if s in later]
        sunk = set(self.settings.sink)
        for name in self.period_steps:
            for producer, output in plan.steps[name].inputs.values():
                if producer not in later and f"{producer}.{output}" not in sunk:
                    raise KernelError(f"{options.pipeline}: stream: period step '{name}' needs "
                                      f"'{producer}.{output}', which is not in the sink: add it to stream.sink")
        self.state = options.state
        self.landing = Landing(options.landing, self.settings.pattern, markers=options.markers)
        self.ledger = Ledger.open(self.state)
        self.summary = Summary()
        self._empty: dict[str, pd.DataFrame] | None = self._load_empty()
        self._last_file: Path | None = None

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> Summary:
        options = self.options
        self.state.mkdir(parents=True, exist_ok=True)
        self._recover_rejected()
        unfinished = self.ledger.unfinished()
        if unfinished is not None:  # killed mid-batch: that batch again, exactly
            self._replay(unfinished)
        if self.ledger.ended:
            if options.final and not self._new_files():
                return self.summary  # ended already (the final batch was cut short, and is finished now)
            raise KernelError(f"stream: the stream in {self.state} was ended (--final flushed its windows): "
                              "start a new one with another --state")
        self.landing.watch(poll=options.poll)
        idle_since = last_period = time.monotonic()
        try:
            while True:
                if options.every is not None and time.monotonic() - last_period >= options.every:
                    self.run_period()
                    last_period = time.monotonic()
                files = self._new_files()
                for path, digest, size, landed in files:
                    self._process(Batch(self.ledger.next_seq, path.name, "newest", hash=digest, size=size,
                                        landed=landed), path)
                if files:
                    idle_since = time.monotonic()
                    continue
                if options.clock == "wall":
                    self._release_by_clock()
                if options.until_idle is not None and time.monotonic() - idle_since >= options.until_idle:
                    break
                self.landing.wait(options.tick)
        except KeyboardInterrupt:
            self.echo("stream: interrupted; every finished batch is in the sink and the ledger")
            self.write_report()
            raise
        finally:
            self.landing.close()
        if options.final:
            self._process(Batch(self.ledger.next_seq, None, None, final=True), None)
        if self.period_steps and (options.every is not None or options.final):
            self.run_period()
        self.write_report()
        return self.summary

    def write_report(self) -> Path:
        """``report.md`` and ``report.json`` in the state directory, from the ledger alone."""
        from kernel_stream.report import write_report

        return write_report(self.state)

    def run_period(self) -> RunResult | None:
        """Run the steps that need the whole period once, on everything in the sink so far: each of their
        inputs from the batches is the concatenation of that output's sink parts."""
        if not self.period_steps:
            return None
        given: dict[str, dict[str, pd.DataFrame]] = {}
        for name in self.period_steps:
            for producer, output in self.plan.steps[name].inputs.values():
                if producer in self.period_steps:
                    continue
                declared = self.plan.steps[producer].type.outputs
                outputs = given.setdefault(producer, {o: pd.DataFrame() for o in declared})
                outputs[output] = read_sink(self.options.sink, f"{producer}.{output}")
        params: dict[str, Any] = {**self.options.params, "hold": None, "state_dir": str(self.state / "steps"),
                                  self.settings.file: str(self._last_file or self.options.landing)}
        started = time.perf_counter()
        result = self.kernel.run(self.options.pipeline, params=params, runs_root=self.state / "runs",
                                 given=given, only=self.period_steps)
        error = None if result.ok else _first_error(result)
        self.ledger.append({"event": "period", "ok": result.ok, "run_id": result.run.run_id,
                            "steps": self.period_steps, "seconds": round(time.perf_counter() - started, 6),
                            "error": error, "at": _now()})
        self.echo(f"stream: period steps {'done' if error is None else 'failed: ' + error} (run {result.run.run_id})")
        self._prune_runs()
        return result

    def _new_files(self) -> list[tuple[Path, str, int, float]]:
        finished = self.ledger.finished
        found = []
        for path in self.landing.complete():
            try:
                stat = path.stat()
                digest = content_hash(path)
            except FileNotFoundError:
                continue
            if (path.name, digest) not in finished:
                found.append((path, digest, stat.st_size, stat.st_mtime))
        return found

    def _replay(self, entry: dict[str, Any]) -> None:
        batch = Batch(int(entry["seq"]), entry.get("file"), entry.get("hold"), bool(entry.get("final")),
                      entry.get("hash"), entry.get("size"), entry.get("landed"), int(entry.get("alerts_at") or 0))
        path = None
        if batch.file is not None:
            path = self.options.landing / batch.file
            if not path.is_file() or content_hash(path) != batch.hash:
                raise KernelError(f"stream: batch {batch.seq} was cut short by a stop and its file {path} is gone "
                                  "or changed since: put it back to finish the batch")
        self.echo(f"stream: batch {batch.seq} was cut short: running it again")
        self._process(batch, path, replay=True)

    def _release_by_clock(self) -> None:
        """A batch without a file when the clock says that what a window step holds is complete."""
        until = self._held_until()
        if until is None:
            return
        clock = datetime.now(UTC) - timedelta(seconds=self.options.grace)
        if clock >= until:
            self._process(Batch(self.ledger.next_seq, None, clock.isoformat()), None)

    def _held_until(self) -> datetime | None:
        found = []
        for manifest in (self.state / "steps").rglob("manifest.json"):
            try:
                held = json.loads(manifest.read_text(encoding="utf-8")).get("held")
            except (OSError, ValueError):
                continue
            if held and held.get("until"):
                found.append(datetime.fromisoformat(held["until"]))
        return min(found, default=None)

    # -- one batch --------------------------------------------------------------------------------

    def _process(self, batch: Batch, path: Path | None, *, replay: bool = False) -> None:
        alerts = self.state / ALERTS
        if replay:  # the alerts a cut batch wrote go: it writes them again
            if alerts.exists() and alerts.stat().st_size > batch.alerts_at:
                with alerts.open("r+b") as stream:
                    stream.truncate(batch.alerts_at)
        else:
            batch.alerts_at = alerts.stat().st_size if alerts.exists() else 0
            self.ledger.append(batch.start_entry())
        given = None
        if path is None:
            if self._empty is None:  # nothing was ever read: there is no batch to run without a file
                self.ledger.append({"event": "done", "seq": batch.seq, "file": None, "records": 0, "at": _now()})
                return
            given = {self.settings.source_step: self._empty}
        params: dict[str, Any] = {**self.options.params, "hold": batch.hold,
                                  "state_dir": str(self.state / "steps")}
        file = path or self._last_file or self.options.landing
        params[self.settings.file] = str(file)
        if self.has_final:
            params["final"] = batch.final
        started = time.perf_counter()
        run: RunOptions = {"params": params, "runs_root": self.state / "runs", "keep_outputs": True,
                           "given": given or {}}
        if self.partial:
            run["only"] = self.batch_steps
        result: RunResult | None = None
        try:
            result = self.kernel.run(self.options.pipeline, **run)
        except KernelError as exc:
            error: str | None = f"{type(exc).__name__}: {exc}"
        else:
            error = None if result.ok else _first_error(result)
        if error is not None:
            if path is None:  # a batch without a file cannot be set aside: the stream cannot go on
                raise KernelError(f"stream: batch {batch.seq} (no file) failed: {error}")
            self._reject(batch, path, error)
            return
        assert result is not None
        outputs = result.outputs
        if path is not None and self._empty is None:
            self._save_empty({k: f.iloc[:0] for k, f in outputs[self.settings.source_step].items()})
        rows: dict[str, int] = {}
        for item in self.settings.sink:
            step, output = item.split(".")
            frame = outputs.get(step, {}).get(output)
            if frame is None:
                raise KernelError(f"stream: the run of batch {batch.seq} has no output '{item}'")
            rows[item] = len(frame)
            if len(frame):
                with atomic_path(self.options.sink / item / f"part-{batch.seq:08d}.parquet") as tmp:
                    frame.to_parquet(tmp, index=False)
        read = outputs[self.settings.source_step]
        counted = [read[self.settings.source_output]] if self.settings.source_output in read else read.values()
        records = sum(len(f) for f in counted) if path is not None else 0
        alerted = self._alerts(batch, outputs) if self.settings.alerts is not None else 0
        done = time.time()
        latency = done - batch.landed if batch.landed is not None else None
        self.ledger.append({"event": "done", "seq": batch.seq, "file": batch.file, "hash": batch.hash,
                            "final": batch.final, "records": records, "rows": rows, "alerts": alerted,
                            "run_id": result.run.run_id,
                            "seconds": round(time.perf_counter() - started, 6),
                            "latency_s": None if latency is None else round(latency, 6), "at": _now()})
        if self.options.merge_parts > 1:  # the batch is done: its parts may be merged with the ones before
            for item in self.settings.sink:
                merge(self.options.sink / item, self.options.merge_parts, MERGE_MAX_ROWS)
        self.summary.batches += 1
        self.summary.records += records
        self.summary.alerts += alerted
        for item, n in rows.items():
            self.summary.rows[item] = self.summary.rows.get(item, 0) + n
        if path is not None:
            self.summary.files += 1
            self._last_file = path
            if latency is not None:
                self.summary.latencies.append(latency)
        self._prune_runs()

    def _alerts(self, batch: Batch, outputs: Mapping[str, Mapping[str, pd.DataFrame]]) -> int:
        """Append the batch's alerts to alerts.jsonl (one write, synced), then send one signal per alert."""
        assert self.settings.alerts is not None
        step, output = self.settings.alerts.output.split(".")
        frame = outputs.get(step, {}).get(output)
        if frame is None:
            raise KernelError(f"stream: the run of batch {batch.seq} has no output '{self.settings.alerts.output}'")
        if not len(frame):
            return 0
        detected = _now()
        column = self.settings.alerts.time_column
        found = []
        for row in json.loads(frame.to_json(orient="records", date_format="iso", date_unit="ns")):
            found.append(Alert(self.name, batch.seq, batch.file, detected,
                               None if column is None else row.get(column), row))
        text = "".join(json.dumps({"seq": a.seq, "file": a.file, "detected_at": a.detected_at,
                                   "event_time": a.event_time, "alert": a.row}, separators=(",", ":")) + "\n"
                       for a in found)
        fd = os.open(self.state / ALERTS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        for alert in found:
            alert_signal.send(self, event=alert)
        return len(found)

    def _recover_rejected(self) -> None:
        """Remove what a killed stream left half written, all of it the stream's own temporary files
        (``.NAME.*.tmp``, as ``kernel.atomic_path`` names them): a reason in ``rejected/``, a sink part, the
        source's columns, the report. The window and dedupe stores recover their own before each run."""
        places = [(self.options.landing / REJECTED, ".*.reason.*.tmp"), (self.state, ".report.*.tmp"),
                  (self.state / "source", ".*.parquet.*.tmp")]
        sink = self.options.sink
        if sink.is_dir():
            places += [(d, ".part-*.parquet.*.tmp") for d in sink.iterdir() if d.is_dir()]
        for directory, pattern in places:
            if directory.is_dir():
                for path in directory.glob(pattern):
                    path.unlink(missing_ok=True)
        if sink.is_dir():
            for directory in sink.iterdir():
                if directory.is_dir():
                    tidy(directory)  # parts a merged part covers: a merge killed after its rename

    def _reject(self, batch: Batch, path: Path, error: str) -> None:
        """Set the file aside with its reason (it is the user's: moved, never deleted); the stream goes on."""
        target_dir = self.options.landing / REJECTED
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            target = target_dir / f"{batch.seq:08d}-{path.name}"
        reason = error.splitlines()[0] if error else "failed"
        write_text_atomic(target.with_name(target.name + ".reason"), reason + "\n")
        os.replace(path, target)
        self.ledger.append({"event": "rejected", "seq": batch.seq, "file": batch.file, "hash": batch.hash,
                            "reason": reason, "moved_to": str(target), "at": _now()})
        self.summary.rejected += 1
        self.echo(f"stream: {path.name} rejected: {reason}")

    # -- what the source gives when no file comes ---------------------------------------------------

    def _empty_dir(self) -> Path:
        return self.state / "source"

    def _load_empty(self) -> dict[str, pd.DataFrame] | None:
        directory = self._empty_dir()
        if not directory.is_dir():
            return None
        frames = {p.stem: pd.read_parquet(p) for p in sorted(directory.glob("*.parquet"))}
        return frames or None

    def _save_empty(self, frames: dict[str, pd.DataFrame]) -> None:
        for name, frame in frames.items():
            with atomic_path(self._empty_dir() / f"{name}.parquet") as tmp:
                frame.to_parquet(tmp, index=False)
        self._empty = frames

    def _prune_runs(self) -> None:
        """Keep the last few batch run directories (the stream made them all)."""
        root = self.state / "runs" / self.name
        if not root.is_dir():
            return
        runs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime_ns)
        for old in runs[:-KEEP_RUNS]:
            if (old / "run.json").is_file():
                shutil.rmtree(old, ignore_errors=True)


def _placeholders(options: StreamOptions) -> dict[str, Any]:
    """Values for the parameters a stream sets batch by batch, to check the pipeline before any batch."""
    import yaml

    try:
        raw = yaml.safe_load(options.pipeline.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}  # load_pipeline says what is wrong
    if not isinstance(raw, dict):
        return {}
    declared = raw.get("params") or {}
    stream = raw.get("stream") or {}
    values = {"hold": None, "state_dir": str(options.state / "steps"),
              (stream.get("file") if isinstance(stream, dict) else None) or "file": str(options.landing)}
    return {k: v for k, v in values.items() if isinstance(declared, dict) and k in declared}


def _first_error(result: Any) -> str:
    record = result.record
    for name, step in record.steps.items():
        if step.status == "failed" and step.error:
            return f"step '{name}': {step.error}"
    return str(record.error or "the run failed")


__all__ = ["Alert", "DataError", "Stream", "StreamOptions", "Summary", "alert_signal", "read_sink"]
