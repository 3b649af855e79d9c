"""OpenLineage run events for a pipeline run and each of its steps, built as the JSON values they are.

The pipeline run is a job named after the pipeline; each step is a job ``<pipeline>.<step>`` whose run
has a ``parent`` facet pointing at the pipeline run. In-memory step outputs are datasets
``<pipeline>.<step>.<output>`` in the namespace ``kernel://<pipeline>``; files the steps report are
datasets in the namespace ``file``. Run ids are UUIDv7 derived from the kernel run id and the start
time, so the same run always gets the same ids.

An event is a plain dict, ready for orjson: the one that openlineage-python's ``Serde.to_dict`` makes
of the same event built with the client's typed classes (``openlineage.client.event_v2``, ``facet_v2``),
with the same keys, ``_producer`` and ``_schemaURL`` on every facet, the fields the client's classes
default to (``facets: {}``) and no nulls; a schema field's nested ``fields`` and a column's ``quantiles``,
which are empty, are given as ``None`` (left out): on a wide frame they were a quarter of each event.
``tests/test_tracker_ol_client.py`` holds every kind of event to that. Those classes validate every URL
and time they are given, and must be walked again to be serialised: they cost more than the rest of the
tracker. This module imports nothing of the client (half a second to import).
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from kernel_tracker.snapshot import Snapshot

PRODUCER = "https://github.com/pipeline-kernel/pipeline-kernel/tree/main/plugins/kernel_tracker"
INTEGRATION = "PIPELINE_KERNEL"

# The schema URLs of the client's generated classes (the spec versions it implements).
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACETS = "https://openlineage.io/spec/facets/"
PROCESSING_ENGINE_URL = _FACETS + "1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
PARENT_URL = _FACETS + "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
ERROR_MESSAGE_URL = _FACETS + "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
JOB_TYPE_URL = _FACETS + "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
DOCUMENTATION_URL = _FACETS + "1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
SCHEMA_URL = _FACETS + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
DATA_QUALITY_URL = _FACETS + "1-0-1/DataQualityMetricsDatasetFacet.json#/$defs/DataQualityMetricsDatasetFacet"
DATA_QUALITY_INPUT_URL = (_FACETS + "1-0-3/DataQualityMetricsInputDatasetFacet.json"
                          "#/$defs/DataQualityMetricsInputDatasetFacet")
OUTPUT_STATISTICS_URL = (_FACETS + "1-0-2/OutputStatisticsOutputDatasetFacet.json"
                         "#/$defs/OutputStatisticsOutputDatasetFacet")
STORAGE_URL = _FACETS + "1-0-1/StorageDatasetFacet.json#/$defs/StorageDatasetFacet"
VERSION_URL = _FACETS + "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"

Json = dict[str, Any]
State = Literal["START", "COMPLETE", "FAIL"]


def _version(distribution: str) -> str:
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return "unknown"


def facet(schema_url: str, fields: Json) -> Json:
    """A facet: its fields with the ``_producer`` and ``_schemaURL`` every facet of the spec has."""
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **fields}


def static_uuid(instant: datetime, data: bytes, *, iso: str | None = None) -> str:
    """``openlineage.client.uuid.generate_static_uuid`` (a UUIDv7 whose random bits are a SHA-1 of the time
    and ``data``), written out so that the client is not imported for it; the tests hold it to the client's.
    ``iso``: ``instant.isoformat()``, when made already (``instant`` in UTC)."""
    if instant.tzinfo is not UTC:  # the kernel's times are in UTC already
        instant, iso = instant.astimezone(UTC), None
    digest = hashlib.sha1((iso or instant.isoformat()).encode() + data, usedforsecurity=False).digest()
    value = (int(instant.timestamp() * 1000) & 0xFFFFFFFFFFFF) << 80 | int.from_bytes(digest, "big") >> 84
    value = value & ~(0xF000 << 64) & ~(0xC000 << 48) | 7 << 76 | 0x8000 << 48  # version 7, variant RFC 4122
    text = f"{value:032x}"  # as str(uuid.UUID(int=value)), without making the object
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class EventBuilder:
    """Builds the events of one run; the parts that repeat (a schema seen before, the parent run, a job)
    are built once and the same dict is reused, so a writer may serialise them once as well."""

    def __init__(self, *, pipeline: str, run_id: str, namespace: str, description: str = "",
                 share: Callable[[Json], Json] | None = None) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.namespace = namespace
        self.data_namespace = f"kernel://{pipeline}"
        self.description = description
        self.run_uuid = ""
        self._schemas: dict[tuple[tuple[str, str], ...], Json] = {}
        self._jobs: dict[str, Json] = {}
        self._job_types: dict[str, Json] = {}
        self._last_time: tuple[datetime | None, str] = (None, "")
        self._parent: Json | None = None
        # id of a snapshot's null counts -> (the counts, held so that the id stays theirs, and their metrics):
        # a producer's output snapshot and its readers' inputs share one list
        self._metrics: dict[int, tuple[list[int], Json]] = {}
        # the last frame's schema facet and column metrics: a chain's next frame mostly has the same
        self._last_schema: tuple[Snapshot, Json] | None = None
        self._last_metrics: tuple[list[str], list[int], Json] | None = None  # names, counts, their metrics
        # What a repeated part becomes: a writer's Shared dict, serialised once (see transports.share).
        self._share: Callable[[Json], Json] = share or (lambda part: part)

    # -- naming --------------------------------------------------------------------------------

    def dataset_name(self, step: str, output: str) -> str:
        return f"{self.pipeline}.{step}.{output}"

    def step_run_id(self, step: str, started_at: datetime) -> str:
        return static_uuid(started_at, f"{self.run_id}/{step}".encode(), iso=self._time(started_at))

    # -- events --------------------------------------------------------------------------------

    def pipeline_start(self, started_at: datetime) -> Json:
        self.run_uuid = static_uuid(started_at, self.run_id.encode())
        engine = facet(PROCESSING_ENGINE_URL, {"name": "pipeline-kernel", "openlineageAdapterVersion":
                                               _version("openlineage-python"), "version": _version("pipeline-kernel")})
        run = {"facets": {"processing_engine": engine}, "runId": self.run_uuid}
        return self._event("START", started_at, run, self._pipeline_job())

    def pipeline_end(self, ended_at: datetime, *, error: str | None, inputs: Iterable[Json] = (),
                     outputs: Iterable[Json] = ()) -> Json:
        facets: Json = {} if error is None else {"errorMessage": self._error(error)}
        state: State = "COMPLETE" if error is None else "FAIL"
        run = {"facets": facets, "runId": self.run_uuid}
        return self._event(state, ended_at, run, self._pipeline_job(), inputs, outputs)

    def step_event(self, state: State, step: str, run_uuid: str, moment: datetime, *, description: str = "",
                   inputs: Iterable[Json] = (), outputs: Iterable[Json] = (), error: str | None = None) -> Json:
        facets: Json = {"parent": self._parent_facet()}
        if error is not None:
            facets["errorMessage"] = self._error(error)
        job = self._job(f"{self.pipeline}.{step}", "STEP", description)
        return self._event(state, moment, {"facets": facets, "runId": run_uuid}, job, inputs, outputs)

    # -- datasets ------------------------------------------------------------------------------

    def frame_input(self, step: str, output: str, snapshot: Snapshot) -> Json:
        metrics = facet(DATA_QUALITY_INPUT_URL, {"columnMetrics": self._column_metrics(snapshot),
                                                 "rowCount": snapshot.rows})
        return {"facets": {"schema": self._snapshot_schema(snapshot)},
                "inputFacets": {"dataQualityMetrics": metrics},
                "name": self.dataset_name(step, output), "namespace": self.data_namespace}

    def frame_output(self, step: str, output: str, snapshot: Snapshot) -> Json:
        metrics = facet(DATA_QUALITY_URL, {"columnMetrics": self._column_metrics(snapshot),
                                           "rowCount": snapshot.rows})
        return {"facets": {"dataQualityMetrics": metrics, "schema": self._snapshot_schema(snapshot)},
                "name": self.dataset_name(step, output), "namespace": self.data_namespace,
                "outputFacets": {"outputStatistics": facet(OUTPUT_STATISTICS_URL, {"rowCount": snapshot.rows})}}

    def file_input(self, path: str, fmt: str, rows: int | None, columns: Mapping[str, str] | None,
                   content_hash: str | None) -> Json:
        input_facets: Json = {}
        if rows is not None:
            input_facets["dataQualityMetrics"] = facet(DATA_QUALITY_INPUT_URL, {"columnMetrics": {}, "rowCount": rows})
        return {"facets": self._file_facets(fmt, columns, content_hash), "inputFacets": input_facets,
                "name": os.path.abspath(path), "namespace": "file"}

    def file_output(self, path: str, fmt: str, rows: int | None, columns: Mapping[str, str] | None,
                    content_hash: str | None) -> Json:
        output_facets: Json = {}
        if rows is not None:
            output_facets["outputStatistics"] = facet(OUTPUT_STATISTICS_URL, {"rowCount": rows})
        return {"facets": self._file_facets(fmt, columns, content_hash), "name": os.path.abspath(path),
                "namespace": "file", "outputFacets": output_facets}

    def named_input(self, dataset: Json) -> Json:
        """An input dataset by its name alone: in a step's COMPLETE or FAIL, the frames its START described."""
        return {"facets": {}, "inputFacets": {}, "name": dataset["name"], "namespace": dataset["namespace"]}

    def planned_output(self, step: str, output: str) -> Json:
        return {"facets": {}, "name": self.dataset_name(step, output), "namespace": self.data_namespace,
                "outputFacets": {}}

    # -- parts ---------------------------------------------------------------------------------

    def _event(self, state: State, moment: datetime, run: Json, job: Json, inputs: Iterable[Json] = (),
               outputs: Iterable[Json] = ()) -> Json:
        return {"eventTime": self._time(moment), "eventType": state, "inputs": list(inputs), "job": job,
                "outputs": list(outputs), "producer": PRODUCER, "run": run, "schemaURL": RUN_EVENT_URL}

    def _time(self, moment: datetime) -> str:
        # datetime.isoformat() is what the client was given before: "2024-05-01T12:00:00.123456+00:00". A
        # step's START makes it twice (its run id, its time): made once.
        last = self._last_time
        if last[0] is not moment:
            last = self._last_time = (moment, moment.isoformat())
        return last[1]

    def _pipeline_job(self) -> Json:
        return self._job(self.pipeline, "PIPELINE", self.description)

    def _job(self, name: str, kind: str, description: str) -> Json:
        # One dict per job for all its events: a writer never changes an event (the client's shell copies).
        job = self._jobs.get(name)
        if job is None:
            facets: Json = {}
            if description:
                facets["documentation"] = facet(DOCUMENTATION_URL, {"description": description})
            facets["jobType"] = self._job_type(kind)
            job = self._jobs[name] = self._share({"facets": facets, "name": name, "namespace": self.namespace})
        return job

    def _job_type(self, kind: str) -> Json:
        made = self._job_types.get(kind)  # the same facet for every step's job
        if made is None:
            made = self._job_types[kind] = self._share(
                facet(JOB_TYPE_URL, {"integration": INTEGRATION, "jobType": kind, "processingType": "BATCH"}))
        return made

    def _parent_facet(self) -> Json:
        if self._parent is None:
            run = {"facets": {}, "runId": self.run_uuid}
            job = {"facets": {}, "name": self.pipeline, "namespace": self.namespace}
            self._parent = self._share(facet(PARENT_URL, {"job": job, "root": {"job": job, "run": run}, "run": run}))
        return self._parent

    def _error(self, message: str) -> Json:
        return facet(ERROR_MESSAGE_URL, {"message": message, "programmingLanguage": "python"})

    def _schema(self, columns: Mapping[str, str]) -> Json:
        key = tuple(columns.items())
        schema = self._schemas.get(key)
        if schema is None:
            fields = [{"name": name, "ordinal_position": i, "type": dtype}
                      for i, (name, dtype) in enumerate(key, start=1)]
            schema = self._schemas[key] = self._share(facet(SCHEMA_URL, {"fields": fields}))
        return schema

    def _snapshot_schema(self, snapshot: Snapshot) -> Json:
        # The frames of a chain mostly keep their schema: the last one's facet, without a key of every column.
        last = self._last_schema
        if last is not None and snapshot.same_schema(last[0]):
            return last[1]
        schema = self._schema(snapshot.columns)
        self._last_schema = (snapshot, schema)
        return schema

    def _column_metrics(self, snapshot: Snapshot) -> Json:
        # An input that was its producer's output carries that snapshot's very counts: its metrics, one entry
        # per column, are made (and written) once for the step's COMPLETE and each reader's START. Worth it
        # on wide frames only: on a few columns remembering costs more than making them again.
        counts = snapshot.counts
        if len(counts) < _SHARED_METRICS:
            return _column_metrics(snapshot.names, counts)
        known = self._metrics.get(id(counts))
        if known is not None and known[0] is counts:
            return known[1]
        last = self._last_metrics
        if last is not None and (last[0] is snapshot.names or last[0] == snapshot.names) and (
                last[1] is counts or last[1] == counts):
            metrics = last[2]  # the same columns with the same null counts as the last frame: its metrics
        else:
            metrics = self._share(_column_metrics(snapshot.names, counts))
            self._last_metrics = (snapshot.names, counts, metrics)
        if len(self._metrics) >= 64:  # a snapshot is read by the next steps, soon: no need to keep many
            self._metrics.clear()
        self._metrics[id(counts)] = (counts, metrics)
        return metrics

    def _file_facets(self, fmt: str, columns: Mapping[str, str] | None, content_hash: str | None) -> Json:
        facets: Json = {}
        if columns:
            facets["schema"] = self._schema(columns)
        facets["storage"] = facet(STORAGE_URL, {"fileFormat": fmt, "storageLayer": "file"})
        if content_hash:
            facets["version"] = facet(VERSION_URL, {"datasetVersion": content_hash})
        return facets


_SHARED_METRICS = 32  # columns from which a snapshot's column metrics are made once


def _column_metrics(names: list[str], counts: list[int]) -> Json:
    # Columns with the same null count (most often 0) share one dict: fewer to make on wide frames.
    by_count: dict[int, Json] = {count: {"nullCount": count} for count in set(counts)}
    return dict(zip(names, map(by_count.__getitem__, counts), strict=True))
