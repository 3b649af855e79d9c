"""The tracker's OpenLineage events are the client's: the same JSON as the client's typed classes, and
what it gets through a configured transport; the run directory's file is written without the client.

``Typed`` below builds each kind of event with openlineage-python's typed classes (``event_v2``,
``facet_v2``), as the tracker did before it built dicts; ``Serde.to_dict`` of that must be exactly the
tracker's dict, and ``Serde.to_json`` exactly what the run directory's file holds.
"""

from __future__ import annotations

import copy
import importlib.metadata as md
import json
import pickle
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest
from kernel_tracker.ol_events import PRODUCER, EventBuilder, Json, static_uuid
from kernel_tracker.snapshot import Snapshot, take_snapshot
from kernel_tracker.transports import ClientSender, Shared, dumps, share
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    InputDatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    data_quality_metrics_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    storage_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from openlineage.client.transport.datadog import DatadogConfig, DatadogTransport
from openlineage.client.transport.kafka import KafkaTransport
from openlineage.client.uuid import generate_static_uuid
from test_tracker_openlineage import assert_valid

MOMENT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
END = MOMENT + timedelta(seconds=1.5)
SNAP = take_snapshot(pd.DataFrame({"a": [1, 2], "b": [None, "x"], "c": [0.5, None]}), 2)


class Typed:
    """The events of pipeline ``p`` (run ``r1``, description ``d``) built with the client's typed classes."""

    def __init__(self, engine: Json) -> None:
        self.engine = engine
        self.run_uuid = str(generate_static_uuid(MOMENT, b"r1"))

    def event(self, state: RunState, moment: datetime, run: Run, job: Job, inputs: list[InputDataset] | None = None,
              outputs: list[OutputDataset] | None = None) -> RunEvent:
        return RunEvent(eventType=state, eventTime=moment.isoformat(), run=run, job=job, inputs=inputs or [],
                        outputs=outputs or [], producer=PRODUCER)

    def job(self, name: str, kind: str, description: str) -> Job:
        facets: dict[str, JobFacet] = {"jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="PIPELINE_KERNEL", jobType=kind, producer=PRODUCER)}
        if description:
            facets["documentation"] = documentation_job.DocumentationJobFacet(description=description,
                                                                               producer=PRODUCER)
        return Job(namespace="kernel", name=name, facets=facets)

    def step_run(self, step: str, error: str | None = None) -> Run:
        facets: dict[str, RunFacet] = {"parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_uuid),
            job=parent_run.Job(namespace="kernel", name="p"),
            root=parent_run.Root(run=parent_run.RootRun(runId=self.run_uuid),
                                 job=parent_run.RootJob(namespace="kernel", name="p")),
            producer=PRODUCER)}
        if error is not None:
            facets["errorMessage"] = self.error(error)
        return Run(runId=str(generate_static_uuid(MOMENT, f"r1/{step}".encode())), facets=facets)

    def error(self, message: str) -> error_message_run.ErrorMessageRunFacet:
        return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python", producer=PRODUCER)

    def pipeline_start(self) -> RunEvent:
        engine = processing_engine_run.ProcessingEngineRunFacet(producer=PRODUCER, **self.engine)
        return self.event(RunState.START, MOMENT, Run(runId=self.run_uuid, facets={"processing_engine": engine}),
                          self.job("p", "PIPELINE", "d"))

    def schema(self, columns: dict[str, str]) -> schema_dataset.SchemaDatasetFacet:
        return schema_dataset.SchemaDatasetFacet(fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=i + 1, fields=None)
            for i, (name, dtype) in enumerate(columns.items())], producer=PRODUCER)

    def frame_input(self, step: str, snap: Snapshot) -> InputDataset:
        metrics = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            rowCount=snap.rows, producer=PRODUCER, columnMetrics={
                name: data_quality_metrics_input_dataset.ColumnMetrics(nullCount=n, quantiles=None)
                for name, n in snap.nulls.items()})
        return InputDataset(namespace="kernel://p", name=f"p.{step}.out", facets={"schema": self.schema(snap.columns)},
                            inputFacets={"dataQualityMetrics": metrics})

    def frame_output(self, step: str, snap: Snapshot) -> OutputDataset:
        metrics = data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
            rowCount=snap.rows, producer=PRODUCER, columnMetrics={
                name: data_quality_metrics_dataset.ColumnMetrics(nullCount=n, quantiles=None)
                for name, n in snap.nulls.items()})
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=snap.rows,
                                                                                      producer=PRODUCER)
        return OutputDataset(namespace="kernel://p", name=f"p.{step}.out",
                             facets={"schema": self.schema(snap.columns), "dataQualityMetrics": metrics},
                             outputFacets={"outputStatistics": stats})

    def file_facets(self, columns: dict[str, str] | None, content_hash: str | None) -> dict[str, DatasetFacet]:
        facets: dict[str, DatasetFacet] = {"storage": storage_dataset.StorageDatasetFacet(
            storageLayer="file", fileFormat="csv", producer=PRODUCER)}
        if columns:
            facets["schema"] = self.schema(columns)
        if content_hash:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=content_hash,
                                                                                   producer=PRODUCER)
        return facets

    def file_input(self, path: str, rows: int | None, columns: dict[str, str] | None,
                   content_hash: str | None) -> InputDataset:
        facets: dict[str, InputDatasetFacet] = {}
        if rows is not None:
            facets["dataQualityMetrics"] = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                rowCount=rows, columnMetrics={}, producer=PRODUCER)
        return InputDataset(namespace="file", name=path, facets=self.file_facets(columns, content_hash),
                            inputFacets=facets)

    def file_output(self, path: str, rows: int | None, columns: dict[str, str] | None,
                    content_hash: str | None) -> OutputDataset:
        facets: dict[str, OutputDatasetFacet] = {}
        if rows is not None:
            facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows, producer=PRODUCER)
        return OutputDataset(namespace="file", name=path, facets=self.file_facets(columns, content_hash),
                             outputFacets=facets)


FILE_IN = ("/data/in.csv", 3, {"id": "int64", "name": "str"}, "sha256:" + "1" * 64)
FILE_IN_BARE = ("/data/other.csv", None, None, None)
FILE_OUT = ("/data/out.csv", 2, None, None)
FILE_OUT_FULL = ("/data/full.csv", 5, {"id": "int64"}, "sha256:" + "2" * 64)


def kinds(b: EventBuilder, t: Typed) -> dict[str, tuple[Json, RunEvent]]:
    """Each kind of event, as the tracker builds it and as the client's classes do."""
    start = (b.pipeline_start(MOMENT), t.pipeline_start())  # first: the other events name this run
    s_run, f_run = b.step_run_id("s", MOMENT), b.step_run_id("f", MOMENT)
    return {
        "pipeline START": start,
        "step START": (
            b.step_event("START", "s", s_run, MOMENT, description="a step", inputs=[b.frame_input("a", "out", SNAP)],
                         outputs=[b.planned_output("s", "out")]),
            t.event(RunState.START, MOMENT, t.step_run("s"), t.job("p.s", "STEP", "a step"),
                    [t.frame_input("a", SNAP)], [OutputDataset(namespace="kernel://p", name="p.s.out")])),
        "step COMPLETE": (
            b.step_event("COMPLETE", "s", s_run, END, description="a step",
                         inputs=[b.named_input(b.frame_input("a", "out", SNAP)),
                                 b.file_input(FILE_IN[0], "csv", *FILE_IN[1:]),
                                 b.file_input(FILE_IN_BARE[0], "csv", *FILE_IN_BARE[1:])],
                         outputs=[b.frame_output("s", "out", SNAP), b.file_output(FILE_OUT[0], "csv", *FILE_OUT[1:]),
                                  b.file_output(FILE_OUT_FULL[0], "csv", *FILE_OUT_FULL[1:])]),
            t.event(RunState.COMPLETE, END, t.step_run("s"), t.job("p.s", "STEP", "a step"),
                    [InputDataset(namespace="kernel://p", name="p.a.out"), t.file_input(*FILE_IN),
                     t.file_input(*FILE_IN_BARE)],
                    [t.frame_output("s", SNAP), t.file_output(*FILE_OUT), t.file_output(*FILE_OUT_FULL)])),
        "step FAIL, no description": (
            b.step_event("FAIL", "f", f_run, END, inputs=[b.named_input(b.frame_input("a", "out", SNAP))],
                         error="ValueError: kaput"),
            t.event(RunState.FAIL, END, t.step_run("f", "ValueError: kaput"), t.job("p.f", "STEP", ""),
                    [InputDataset(namespace="kernel://p", name="p.a.out")])),
        "pipeline COMPLETE": (
            b.pipeline_end(END, error=None, inputs=[b.file_input(FILE_IN[0], "csv", *FILE_IN[1:])],
                           outputs=[b.file_output(FILE_OUT[0], "csv", *FILE_OUT[1:])]),
            t.event(RunState.COMPLETE, END, Run(runId=t.run_uuid), t.job("p", "PIPELINE", "d"),
                    [t.file_input(*FILE_IN)], [t.file_output(*FILE_OUT)])),
        "pipeline FAIL": (
            b.pipeline_end(END, error="step 'f' failed"),
            t.event(RunState.FAIL, END, Run(runId=t.run_uuid, facets={"errorMessage": t.error("step 'f' failed")}),
                    t.job("p", "PIPELINE", "d"))),
    }


def pairs(*, shared: bool = True) -> dict[str, tuple[Json, RunEvent]]:
    # shared as the recorder has it: the repeated parts become Shared dicts, written from their bytes
    builder = EventBuilder(pipeline="p", run_id="r1", namespace="kernel", description="d",
                           share=share if shared else None)
    engine = {"name": "pipeline-kernel", "version": md.version("pipeline-kernel"),
              "openlineageAdapterVersion": md.version("openlineage-python")}
    return kinds(builder, Typed(engine))


KINDS = list(pairs())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "plain"])
def test_each_kind_of_event_is_the_clients_dict(kind: str, shared: bool) -> None:
    ours, typed = pairs(shared=shared)[kind]
    assert ours == Serde.to_dict(typed)
    written = orjson.loads(dumps(ours))  # as a line of openlineage.jsonl
    assert written == json.loads(Serde.to_json(typed))
    assert_valid(written)


def test_the_events_share_their_repeated_parts() -> None:
    events = pairs()
    complete, _ = events["step COMPLETE"]
    start, _ = events["step START"]
    assert isinstance(complete["job"], Shared) and complete["job"] is start["job"]
    assert isinstance(complete["run"]["facets"]["parent"], Shared)
    assert complete["run"]["facets"]["parent"] is start["run"]["facets"]["parent"]
    schema = complete["outputs"][0]["facets"]["schema"]
    assert isinstance(schema, Shared) and schema is start["inputs"][0]["facets"]["schema"]  # same columns
    assert orjson.loads(orjson.dumps(schema.json)) == schema  # the bytes are the dict's


def test_the_dumps_of_subclasses_of_builtins_is_orjsons() -> None:
    class Name(str):
        pass

    value = {"b": Name("x"), "a": [Shared({"z": 1, "y": Name("w")})], "c": True, "d": 1.5, "e": None}
    assert dumps(value) == orjson.dumps({"a": [{"y": "w", "z": 1}], "b": "x", "c": True, "d": 1.5, "e": None})
    with pytest.raises(TypeError):
        dumps({"a": object()})


@pytest.mark.parametrize("moment", [MOMENT, datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
                                    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)])
def test_run_ids_are_the_clients_static_uuids(moment: datetime) -> None:
    for data in (b"r1", b"r1/step", "run/\u00e9t\u00e9".encode()):
        assert static_uuid(moment, data) == str(generate_static_uuid(moment, data))


class Capture(Transport):
    kind = "capture"

    def __init__(self, config: object = None) -> None:
        self.lines: list[str] = []

    def emit(self, event: Any) -> None:
        self.lines.append(Serde.to_json(copy.deepcopy(event)))  # a deep copy, as the client's transform makes


@pytest.mark.parametrize("kind", KINDS)
def test_a_transport_gets_the_same_json_through_the_client(kind: str) -> None:
    ours, _ = pairs()[kind]
    before = orjson.loads(dumps(ours))
    sender = ClientSender(Capture())
    wrapped = sender.wrap(ours)
    assert isinstance(wrapped, RunEvent)
    assert json.loads(Serde.to_json(wrapped)) == before
    sender.emit(ours)
    capture = sender.client.transport
    assert isinstance(capture, Capture)
    (line,) = capture.lines
    sent = json.loads(line)
    # the client adds its tags facet (its version), to its own copy of the run's facets
    assert sent["run"]["facets"].pop("tags")["tags"][0]["key"] == "openlineage_client_version"
    assert sent == before
    assert orjson.loads(dumps(ours)) == before  # our event is as it was


def test_transports_that_read_facets_as_objects_still_find_them() -> None:
    events = pairs()
    sender = ClientSender(Capture())
    step, pipeline = sender.wrap(events["step START"][0]), sender.wrap(events["pipeline START"][0])
    kafka = KafkaTransport.__new__(KafkaTransport)  # no producer: only its message key is asked for
    assert kafka._get_message_key(step) == "run:kernel/p"  # the parent's root job keeps a run's events together
    assert kafka._get_message_key(pipeline) == "run:kernel/p"
    datadog = DatadogTransport(DatadogConfig.from_dict(
        {"apiKey": "not-a-key", "async_transport_rules": {"PIPELINE_KERNEL": {"STEP": True}}}))
    assert datadog._should_use_async_transport(step)
    assert not datadog._should_use_async_transport(pipeline)
    # typed once per run and job, not per event
    again = sender.wrap(events["step COMPLETE"][0])
    assert again.run.facets is not None and step.run.facets is not None
    assert again.run.facets["parent"] is step.run.facets["parent"]
    assert isinstance(step.run.facets["parent"], parent_run.ParentRunFacet)


SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tracker_support import events, run_pipeline
result = run_pipeline(Path(sys.argv[2]), [{"name": "src", "uses": "tt.table"},
                                          {"name": "next", "uses": "demo.scale", "needs": ["src"]}],
                      tracker=json.loads(sys.argv[3]))
loaded = sorted(name for name in sys.modules if name.startswith("openlineage"))
print(json.dumps({"ok": result.ok, "events": len(events(result)), "loaded": loaded}))
"""


def run_apart(tmp_path: Path, tracker: Json) -> Json:
    """Run a pipeline in a new interpreter; what it imported of openlineage."""
    command = [sys.executable, "-c", SCRIPT, str(Path(__file__).parent), str(tmp_path), json.dumps(tracker)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: Json = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_run_directory_file_is_written_without_the_client(demo_installed: Path, tmp_path: Path) -> None:
    alone = run_apart(tmp_path / "alone", {})
    assert alone == {"ok": True, "events": 6, "loaded": []}  # no import of the client (half a second)
    target = tmp_path / "elsewhere.jsonl"
    sent = run_apart(tmp_path / "sent", {"openlineage": {"transport": {"type": "file", "log_file_path": str(target),
                                                                       "append": True}}})
    assert sent["ok"] and sent["events"] == 6 and "openlineage.client" in sent["loaded"]
    assert len(target.read_text().splitlines()) == 6


def test_a_wrapped_event_copies_and_pickles_as_plain_dicts() -> None:
    ours, _ = pairs()["step COMPLETE"]
    copied: Callable[[Any], Any]
    for copied in (copy.deepcopy, copy.copy, lambda value: pickle.loads(pickle.dumps(value))):
        twin = copied(ours["job"])
        assert twin == ours["job"] and type(twin) is dict
    assert json.loads(Serde.to_json(copy.deepcopy(ClientSender(Capture()).wrap(ours)))) == orjson.loads(dumps(ours))
