"""Sends a run's OpenLineage events as it goes: START, then COMPLETE or FAIL, for the run and each step.

A step the kernel skips never started, so it has no run and gets no event (Airflow's integration does
the same for tasks whose upstream failed); lineage.json and tracker.json list it as skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from kernel import DatasetIO, get_logger
from kernel_tracker.ol_events import EventBuilder, Json
from kernel_tracker.settings import OpenLineageSettings
from kernel_tracker.snapshot import Snapshot
from kernel_tracker.transports import ClientSender, RunDirWriter, make_transport, share

FILE_NAME = "openlineage.jsonl"


class OpenLineageRecorder:
    """One per run. Emission errors are counted and kept; they never stop the run or the tracker."""

    def __init__(self, settings: OpenLineageSettings, *, pipeline: str, run_id: str, run_dir: Path,
                 description: str = "", readers: Mapping[tuple[str, str], int] | None = None) -> None:
        self.settings = settings
        self.path = run_dir / FILE_NAME
        self._file = RunDirWriter(self.path)
        self.builder = EventBuilder(pipeline=pipeline, run_id=run_id, namespace=settings.namespace,
                                    description=description, share=share)
        self.events = 0  # written to the run directory's file
        self.sent = 0  # accepted by the configured transport
        self.errors: list[str] = []
        self._failed = 0
        self._log = get_logger("kernel_tracker").bind(run_id=run_id)
        self._sender: ClientSender | None = None
        # a running step's run id and its input datasets by name, for its COMPLETE or FAIL: its START
        # described them, and a run's events accumulate (the spec's run cycle)
        self._steps: dict[str, tuple[str, list[Json]]] = {}
        # Input datasets that more steps to start will read as they are (same_as), and how many such
        # steps are left: a dataset is dropped, with its serialised form, once no step to start reads it.
        self._inputs: dict[tuple[str, str], Json] = {}
        self._readers = dict(readers or {})  # (step, output) -> the steps yet to start that read it
        self._file_inputs: dict[str, Json] = {}
        self._file_outputs: dict[str, Json] = {}

    def _connect(self) -> None:
        config = self.settings.transport
        if config is None:
            return
        try:
            transport = make_transport(config)
        except Exception as exc:
            self._error(f"transport '{config.get('type')}' could not be made: {exc}")
            return
        if transport.kind == "noop" and config.get("type") != "noop":
            self._error("the transport is switched off by OPENLINEAGE_DISABLED")
            return
        self._sender = ClientSender(transport)

    def _emit(self, event: Json) -> None:
        try:
            self._file.write(event)
            self.events += 1
        except Exception as exc:
            self._error(f"{self.path.name}: {type(exc).__name__}: {exc}")
        if self._sender is not None:
            try:
                self._sender.emit(event)
                self.sent += 1
            except Exception as exc:
                self._error(f"transport: {type(exc).__name__}: {exc}")

    def _error(self, message: str) -> None:
        self._failed += 1
        if len(self.errors) < 5:
            self.errors.append(message)
        self._log.warning("openlineage emission failed", error=message)

    # -- the run -------------------------------------------------------------------------------

    def start_pipeline(self, started_at: datetime) -> None:
        self._connect()
        self._emit(self.builder.pipeline_start(started_at))

    def end_pipeline(self, ended_at: datetime, error: str | None) -> None:
        self._emit(self.builder.pipeline_end(ended_at, error=error, inputs=self._file_inputs.values(),
                                             outputs=self._file_outputs.values()))

    def start_step(self, step: str, started_at: datetime, *, description: str,
                   inputs: Iterable[tuple[str, str, Snapshot]], outputs: Iterable[str]) -> None:
        b = self.builder
        run_uuid = b.step_run_id(step, started_at)
        datasets = [self._frame_input(producer, output, snap) for producer, output, snap in inputs]
        self._steps[step] = (run_uuid, [b.named_input(d) for d in datasets])
        self._emit(b.step_event("START", step, run_uuid, started_at, description=description,
                                inputs=datasets, outputs=[b.planned_output(step, name) for name in outputs]))

    def _frame_input(self, producer: str, output: str, snap: Snapshot) -> Json:
        # An output handed on as it was (same_as) is the same input dataset for every step that reads it:
        # serialised once (shared) when more than one step reads it.
        key = (producer, output)
        left = self._readers[key] = self._readers.get(key, 1) - 1
        dataset = self._inputs.pop(key, None) if left <= 0 else self._inputs.get(key)
        if dataset is None or snap.same_as is None:
            dataset = self.builder.frame_input(producer, output, snap)
            if snap.same_as is not None and left > 0:
                self._inputs[key] = dataset = share(dataset)
        return dataset

    def complete_step(self, step: str, ended_at: datetime, *, description: str,
                      outputs: Mapping[str, Snapshot], datasets: Iterable[DatasetIO]) -> None:
        b = self.builder
        run_uuid, inputs = self._steps.pop(step)
        ins = list(inputs)
        outs = [b.frame_output(step, name, snap) for name, snap in outputs.items()]
        self._add_files(datasets, ins, outs)
        self._emit(b.step_event("COMPLETE", step, run_uuid, ended_at, description=description,
                                inputs=ins, outputs=outs))

    def fail_step(self, step: str, ended_at: datetime, *, description: str, error: str,
                  datasets: Iterable[DatasetIO] = ()) -> None:
        run_uuid, inputs = self._steps.pop(step)
        ins, outs = list(inputs), list[Json]()
        self._add_files(datasets, ins, outs)
        self._emit(self.builder.step_event("FAIL", step, run_uuid, ended_at, description=description,
                                           inputs=ins, outputs=outs, error=error))

    def _add_files(self, datasets: Iterable[DatasetIO], ins: list[Json], outs: list[Json]) -> None:
        """The files a step reported, as datasets (each built once a run), added to its event's lists."""
        b = self.builder
        for d in datasets:
            key = os.path.abspath(d.path)  # a file dataset is named by its absolute path
            if d.mode == "read":
                if key not in self._file_inputs:
                    self._file_inputs[key] = b.file_input(d.path, d.format, d.rows, d.columns, d.content_hash)
                ins.append(self._file_inputs[key])
            else:
                if key not in self._file_outputs:
                    self._file_outputs[key] = b.file_output(d.path, d.format, d.rows, d.columns, d.content_hash)
                outs.append(self._file_outputs[key])

    def close(self) -> dict[str, Any]:
        """Close the file and the transport; what tracker.json says about the emission."""
        self._file.close()
        self._inputs.clear()
        if self._sender is not None:
            try:
                self._sender.close()
            except Exception as exc:
                self._error(f"transport: {type(exc).__name__}: {exc}")
        summary: dict[str, Any] = {"file": FILE_NAME, "events": self.events}
        if self.settings.transport is not None:
            summary["transport"] = {"type": self.settings.transport.get("type"), "sent": self.sent}
        summary["failures"] = self._failed
        summary["errors"] = self.errors
        return summary
