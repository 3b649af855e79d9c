"""The tracker of one run: snapshots, schema diffs, rows and timings per step, then tracker.json and lineage.json.

Every signal comes from the kernel's orchestrating thread, so the tracker needs no lock; it keeps no
reference to a frame once a receiver returns, only weak references to recognise a producer's output
when it arrives as another step's input (the kernel passes the same object, never a copy).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from kernel import DataError, DatasetIO, Listener, Run, atomic_path, read_document, signals
from kernel.events import (
    PipelineCompleted,
    PipelineErrored,
    PipelineStarted,
    StepCompleted,
    StepErrored,
    StepSkipped,
    StepStarted,
    frame_origin,
)
from kernel_tracker.lineage import lineage_document
from kernel_tracker.ol_emitter import OpenLineageRecorder
from kernel_tracker.schema import baseline, schema_diff, unchanged
from kernel_tracker.settings import PLUGIN, TrackerSettings
from kernel_tracker.snapshot import SameAs, Snapshot, Snapshots, Snapshotter, snapshots

# Of tracker.json: raised when a reader must change. 2: an input that was its producer's output names that
# snapshot (SameAs) instead of repeating it. 3: a snapshot gives its schema's position in "schemas" and its
# null counts and samples as lists in that schema's column order. lineage.json has its own
# (lineage.LINEAGE_SCHEMA_VERSION).
SCHEMA_VERSION = 3
READ_VERSIONS = (1, 2, 3)  # what the report's section reads: the fields it uses are in all three
TRACKER_FILE = "tracker.json"
LINEAGE_FILE = "lineage.json"


@dataclass
class StepTrack:
    """What the tracker learnt about one step; orjson writes it to tracker.json field by field, in this order.

    No slots: orjson reads a dataclass's ``__dict__`` several times faster than its slots.
    """

    uses: str
    status: str = "pending"
    started_at: datetime | None = None
    duration_s: float | None = None
    attempts: int | None = None
    rows_in: dict[str, int] = field(default_factory=dict)
    rows_out: dict[str, int] = field(default_factory=dict)
    # full snapshots during the run (schema diffs and lineage read them); SameAs where due once it has ended
    inputs: dict[str, Snapshot | SameAs] = field(default_factory=dict)
    outputs: dict[str, Snapshot] = field(default_factory=dict)
    schema_diff: dict[str, Any] = field(default_factory=dict)
    cached: bool = False  # not run: its outputs were reused from an earlier run (docs/cache.md)
    error: str | None = None
    skipped_because: str | None = None


class Tracker:
    """Receivers for one run, connected through ``connect_listeners``."""

    def __init__(self, run: Run, settings: TrackerSettings) -> None:
        # No reference to the run: run.stash holds the tracker, and a cycle would keep a finished run's
        # snapshots alive until the cyclic garbage collector comes by. Receivers get the run as sender.
        self.samples = settings.samples
        self.snapshotter = Snapshotter(settings.samples)
        # what summarize_step gives every step: the snapshots of its outputs, taken where the frames are
        self.summarizer = partial(snapshots, samples=settings.samples)
        self.snapshot_count = 0
        self.busy_s = 0.0
        self.started_at: datetime | None = None
        self.steps = {name: StepTrack(uses=planned.spec.uses) for name, planned in run.plan.steps.items()}
        self.datasets: dict[str, tuple[DatasetIO, ...]] = {}  # step -> the files it reported
        # (step, output) -> a weak reference to the frame and its snapshot
        self._produced: dict[tuple[str, str], tuple[int, Snapshot]] = {}
        self.openlineage: OpenLineageRecorder | None = None
        if settings.openlineage.enabled:
            self.openlineage = OpenLineageRecorder(
                settings.openlineage,
                pipeline=run.pipeline.name,
                run_id=run.run_id,
                run_dir=run.run_dir,
                description=run.pipeline.description,
                readers=Counter(ref for planned in run.plan.steps.values() for ref in planned.inputs.values()),
            )

    def listeners(self) -> list[Listener]:
        return [
            Listener(signals.pipeline_start, self.on_pipeline_start),
            Listener(signals.step_start, self.on_step_start),
            Listener(signals.step_complete, self.on_step_complete),
            Listener(signals.step_error, self.on_step_error),
            Listener(signals.step_skipped, self.on_step_skipped),
            Listener(signals.pipeline_complete, self.on_pipeline_complete),
            Listener(signals.pipeline_error, self.on_pipeline_error),
        ]

    # -- receivers -----------------------------------------------------------------------------

    def on_pipeline_start(self, sender: Run, *, event: PipelineStarted, **extra: object) -> None:
        start = time.perf_counter()
        self.started_at = event.started_at
        if self.openlineage is not None:
            self.openlineage.start_pipeline(event.started_at)
        self.busy_s += time.perf_counter() - start

    def on_step_start(self, sender: Run, *, event: StepStarted, **extra: object) -> None:
        start = time.perf_counter()
        name = event.step.name
        track = self.steps[name]
        track.status, track.started_at = "running", event.started_at
        planned = sender.plan.steps[name].inputs
        for key in event.inputs:
            origin = frame_origin(event.inputs, key)
            snap = track.inputs[key] = self._input_snapshot(event.inputs, key, origin, planned.get(key))
            track.rows_in[key] = snap.rows
        if self.openlineage is not None:
            self.openlineage.start_step(
                name,
                event.started_at,
                description=event.step.description,
                inputs=[(*planned[key], _full(snap)) for key, snap in track.inputs.items() if key in planned],
                outputs=sender.plan.steps[name].type.outputs,
            )
        self.busy_s += time.perf_counter() - start

    def on_step_complete(self, sender: Run, *, event: StepCompleted, **extra: object) -> None:
        start = time.perf_counter()
        name = event.step.name
        track = self.steps[name]
        track.status, track.duration_s, track.attempts = "succeeded", event.duration_s, event.attempts
        track.cached = event.cached
        track.rows_out = dict(event.rows)
        if event.datasets:
            self.datasets[name] = tuple(event.datasets)
        taken = event.summaries.get(PLUGIN)  # under the name the entry point gives the plugin, else by type
        if not isinstance(taken, Snapshots):
            taken = next((v for v in event.summaries.values() if isinstance(v, Snapshots)), None)
        for output in event.outputs:
            if taken is not None and output in taken:  # taken next to the step
                snap = taken[output]
            else:  # an event made by hand: from the frame, here
                snap = self.snapshotter.take(event.outputs[output])
            self.snapshot_count += 1
            track.outputs[output] = snap
            self._produced[(name, output)] = (frame_origin(event.outputs, output), snap)
            against = baseline(output, track.inputs)
            if against is not None:
                before = _full(track.inputs[against])
                track.schema_diff[output] = (unchanged(against) if snap.same_schema(before)
                                             else schema_diff(against, before.columns, snap.columns))
        if self.openlineage is not None:
            ended = _end(event.started_at, event.duration_s)
            description = event.step.description
            self.openlineage.complete_step(name, ended, description=description, outputs=track.outputs,
                                           datasets=event.datasets)
        self.busy_s += time.perf_counter() - start

    def on_step_error(self, sender: Run, *, event: StepErrored, **extra: object) -> None:
        start = time.perf_counter()
        name = event.step.name
        track = self.steps[name]
        track.status = "blocked" if event.blocked else "failed"
        track.duration_s, track.attempts = event.duration_s, event.attempts
        # worded as the run record words it
        plain = isinstance(event.error, DataError) or event.blocked
        track.error = str(event.error) if plain else f"{type(event.error).__name__}: {event.error}"
        if event.datasets:
            self.datasets[name] = tuple(event.datasets)
        if self.openlineage is not None:
            ended = _end(event.started_at, event.duration_s)
            self.openlineage.fail_step(name, ended, description=event.step.description, error=track.error,
                                       datasets=event.datasets)
        self.busy_s += time.perf_counter() - start

    def on_step_skipped(self, sender: Run, *, event: StepSkipped, **extra: object) -> None:
        track = self.steps[event.step.name]
        track.status, track.skipped_because = "skipped", event.reason

    def on_pipeline_complete(self, sender: Run, *, event: PipelineCompleted, **extra: object) -> None:
        self._finish(sender, event.duration_s, None)

    def on_pipeline_error(self, sender: Run, *, event: PipelineErrored, **extra: object) -> None:
        self._finish(sender, event.duration_s, event.error)

    # -- parts ---------------------------------------------------------------------------------

    def _input_snapshot(
        self, inputs: Mapping[str, Any], key: str, origin: int, source: tuple[str, str] | None
    ) -> Snapshot:
        start = time.perf_counter()
        produced = self._produced.get(source) if source is not None else None
        # The producer's frame is alive while its consumer starts, so equal origins mean one frame.
        if produced is not None and produced[0] == origin and source is not None:
            # The producer's output itself: its snapshot at step_complete is this frame's snapshot.
            snap = produced[1]
            return Snapshot(snap.names, snap.dtypes, snap.rows, snap.counts, snap.values, time.perf_counter() - start,
                            same_as=f"{source[0]}.{source[1]}")
        self.snapshot_count += 1
        return self.snapshotter.take(inputs[key])  # read only here: a kept frame would be brought over

    def _finish(self, run: Run, duration_s: float, error: str | None) -> None:
        start = time.perf_counter()
        openlineage = None
        if self.openlineage is not None:
            if self.started_at is not None:
                self.openlineage.end_pipeline(_end(self.started_at, duration_s), error)
            openlineage = self.openlineage.close()
        self._produced.clear()
        for track in self.steps.values():  # an input that was a producer's output points to its snapshot
            for key, given in track.inputs.items():
                if given.same_as is not None:
                    track.inputs[key] = SameAs(given.rows, given.same_as, given.taken_s)
        schemas = _Schemas(self.steps.values())
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": run.run_id,
            "pipeline": run.pipeline.name,
            "samples": self.samples,
            "snapshot_count": self.snapshot_count,
            "schemas": schemas.listed,
            "steps": self.steps,
        }
        if openlineage is not None:
            document["openlineage"] = openlineage
        write_json(run, LINEAGE_FILE, lineage_document(run, self.steps, self.datasets))
        document["tracking_s"] = self.busy_s + time.perf_counter() - start
        # Without indentation, and each schema once: a chain of 1,000 steps of 300 columns made 86 MB indented,
        # 20 MB with every snapshot naming its columns five times; writing it cost more than taking them.
        write_json(run, TRACKER_FILE, document, indent=False, default=schemas.encode)


class _Schemas:
    """The distinct schemas of a run's snapshots, in the order first met, and each snapshot as tracker.json
    writes it: its schema's position, rows, null counts and samples in that schema's column order."""

    def __init__(self, steps: Iterable[StepTrack]) -> None:
        self.listed: list[dict[str, str]] = []
        at: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self._of: dict[int, int] = {}  # id of a snapshot (all alive while the file is written) -> its schema
        # ids of the lists of null counts and samples met (alive, held by the snapshots), and the JSON of those
        # met twice: snapshots share the lists of a frame that did not change, written once
        self._met: set[int] = set()
        self._json: dict[int, orjson.Fragment] = {}
        last: tuple[Snapshot, int] | None = None
        for track in steps:
            for snap in (*track.outputs.values(), *track.inputs.values()):
                if not isinstance(snap, Snapshot):
                    continue
                if last is not None and snap.same_schema(last[0]):  # a chain's frames mostly keep their schema
                    self._of[id(snap)] = last[1]
                    continue
                key = (tuple(snap.names), tuple(snap.dtypes))
                if key not in at:
                    at[key] = len(self.listed)
                    self.listed.append(snap.columns)
                self._of[id(snap)] = at[key]
                last = (snap, at[key])

    def encode(self, value: Any) -> Any:
        if isinstance(value, Snapshot):
            return {"schema": self._of[id(value)], "rows": value.rows, "nulls": self._once(value.counts),
                    "samples": self._once(value.values), "taken_s": value.taken_s}
        if isinstance(value, StepTrack | SameAs):
            return value.__dict__  # their fields, in order
        raise TypeError(f"{type(value).__name__} is not written to {TRACKER_FILE}")

    def _once(self, values: list[Any]) -> Any:
        """``values``, or its JSON made once if another snapshot gives the same list: the same bytes."""
        key = id(values)
        made = self._json.get(key)
        if made is not None:
            return made
        if key not in self._met:
            self._met.add(key)
            return values
        try:
            made = self._json[key] = orjson.Fragment(orjson.dumps(values))
        except TypeError:
            return values  # written with the document, which says what it cannot write
        return made


def write_json(run: Run, name: str, document: dict[str, Any], *, indent: bool = True,
               default: Callable[[Any], Any] | None = None) -> None:
    """``document`` as JSON in the run directory, atomically; ``default`` writes the dataclasses when given."""
    # orjson's UTF-8 bytes as they are: decoding them to text and encoding it again cost more than the dump.
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    if default is not None:
        option |= orjson.OPT_PASSTHROUGH_DATACLASS
    with atomic_path(run.run_dir / name) as tmp:
        tmp.write_bytes(orjson.dumps(document, option=option, default=default))


def _full(snap: Snapshot | SameAs) -> Snapshot:
    if not isinstance(snap, Snapshot):  # made only once the run has ended
        raise TypeError(f"the snapshot {snap.same_as} is not at hand")
    return snap


def read_tracker(run_dir: str | Path) -> dict[str, Any]:
    """The run's tracker.json (version 1, 2 or 3) in version 1's shape: every snapshot with its ``columns``,
    ``nulls`` and ``samples`` by name, and every input in full: one that names its producer's snapshot
    (``same_as``) is given that snapshot, with its own ``taken_s``. A :class:`~kernel.KernelError` naming the
    file when it cannot be read."""
    return _resolve_inputs(_by_name(read_document(Path(run_dir) / TRACKER_FILE, READ_VERSIONS)))


def _by_name(document: dict[str, Any]) -> dict[str, Any]:
    """A version 3 document's snapshots with their columns, nulls and samples by name (as versions 1 and 2)."""
    schemas = document.pop("schemas", None)
    if schemas is None:
        return document
    for track in (document.get("steps") or {}).values():
        for side in ("inputs", "outputs"):
            given = track.get(side) or {}
            for key, snap in given.items():
                if "schema" not in snap:
                    continue  # an input that names its producer's snapshot
                columns = schemas[snap["schema"]]
                names = list(columns)
                given[key] = {
                    "columns": dict(columns), "rows": snap["rows"],
                    "nulls": dict(zip(names, snap["nulls"], strict=True)),
                    "samples": [dict(zip(names, row, strict=True)) for row in zip(*snap["samples"], strict=True)],
                    "taken_s": snap["taken_s"], "same_as": None,
                }
    return document


def _resolve_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (tracker.json, read) with every input that names its producer's snapshot (``same_as``)
    given that snapshot in full."""
    steps = document.get("steps") or {}
    for track in steps.values():
        for key, given in (track.get("inputs") or {}).items():
            source = given.get("same_as")
            if source is None or "columns" in given:
                continue
            step, _, output = source.rpartition(".")
            track["inputs"][key] = {**steps[step]["outputs"][output], "taken_s": given["taken_s"],
                                    "same_as": source}
    return document


def _end(started_at: datetime, duration_s: float) -> datetime:
    return started_at + timedelta(seconds=duration_s)
