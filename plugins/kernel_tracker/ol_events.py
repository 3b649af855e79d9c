"""OpenLineage run events for a pipeline run and each of its steps, built with the openlineage-python client.

The pipeline run is a job named after the pipeline; each step is a job ``<pipeline>.<step>`` whose run
has a ``parent`` facet pointing at the pipeline run. In-memory step outputs are datasets
``<pipeline>.<step>.<output>`` in the namespace ``kernel://<pipeline>``; files the steps report are
datasets in the namespace ``file``. Run ids are UUIDv7 derived from the kernel run id and the start
time, so the same run always gets the same ids.
"""

from __future__ import annotations

import importlib.metadata as md
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from openlineage.client import OpenLineageClient
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
from openlineage.client.uuid import generate_static_uuid

from kernel_tracker.snapshot import Snapshot

PRODUCER = "https://github.com/pipeline-kernel/pipeline-kernel/tree/main/plugins/kernel_tracker"
INTEGRATION = "PIPELINE_KERNEL"


def _version(distribution: str) -> str:
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return "unknown"


class EventBuilder:
    """Builds the events of one run; facets that repeat (a schema seen before) are built once."""

    def __init__(self, *, pipeline: str, run_id: str, namespace: str, description: str = "",
                 share: Callable[[object], None] | None = None) -> None:
        self.pipeline = pipeline
        self.run_id = run_id
        self.namespace = namespace
        self.data_namespace = f"kernel://{pipeline}"
        self.description = description
        self.run_uuid = ""
        self._schemas: dict[tuple[tuple[str, str], ...], schema_dataset.SchemaDatasetFacet] = {}
        self._share = share or (lambda facet: None)
        self._job_facets: dict[str, dict[str, JobFacet]] = {}
        self._parent_facet: parent_run.ParentRunFacet | None = None

    # -- naming --------------------------------------------------------------------------------

    def dataset_name(self, step: str, output: str) -> str:
        return f"{self.pipeline}.{step}.{output}"

    def step_run_id(self, step: str, started_at: datetime) -> str:
        return str(generate_static_uuid(started_at, f"{self.run_id}/{step}".encode()))

    # -- events --------------------------------------------------------------------------------

    def pipeline_start(self, started_at: datetime) -> RunEvent:
        self.run_uuid = str(generate_static_uuid(started_at, self.run_id.encode()))
        engine = processing_engine_run.ProcessingEngineRunFacet(
            version=_version("pipeline-kernel"),
            name="pipeline-kernel",
            openlineageAdapterVersion=_version("openlineage-python"),
            producer=PRODUCER,
        )
        return self._event(RunState.START, started_at, self._pipeline_run({"processing_engine": engine}),
                           self._pipeline_job())

    def pipeline_end(
        self,
        ended_at: datetime,
        *,
        error: str | None,
        inputs: Iterable[InputDataset] = (),
        outputs: Iterable[OutputDataset] = (),
    ) -> RunEvent:
        facets: dict[str, RunFacet] = {}
        if error is not None:
            facets["errorMessage"] = self._error(error)
        state = RunState.FAIL if error is not None else RunState.COMPLETE
        return self._event(state, ended_at, self._pipeline_run(facets), self._pipeline_job(), inputs, outputs)

    def step_event(
        self,
        state: RunState,
        step: str,
        run_uuid: str,
        moment: datetime,
        *,
        description: str = "",
        inputs: Iterable[InputDataset] = (),
        outputs: Iterable[OutputDataset] = (),
        error: str | None = None,
    ) -> RunEvent:
        facets: dict[str, RunFacet] = {"parent": self._parent()}
        if error is not None:
            facets["errorMessage"] = self._error(error)
        job = self._job(f"{self.pipeline}.{step}", "STEP", description)
        return self._event(state, moment, Run(runId=run_uuid, facets=facets), job, inputs, outputs)

    # -- datasets ------------------------------------------------------------------------------

    def frame_input(self, step: str, output: str, snapshot: Snapshot) -> InputDataset:
        metrics = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            rowCount=snapshot.rows,
            columnMetrics={
                name: data_quality_metrics_input_dataset.ColumnMetrics(nullCount=count)
                for name, count in snapshot.nulls.items()
            },
            producer=PRODUCER,
        )
        return InputDataset(
            namespace=self.data_namespace,
            name=self.dataset_name(step, output),
            facets={"schema": self._schema(snapshot.columns)},
            inputFacets={"dataQualityMetrics": metrics},
        )

    def frame_output(self, step: str, output: str, snapshot: Snapshot) -> OutputDataset:
        metrics = data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
            rowCount=snapshot.rows,
            columnMetrics={
                name: data_quality_metrics_dataset.ColumnMetrics(nullCount=count)
                for name, count in snapshot.nulls.items()
            },
            producer=PRODUCER,
        )
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=snapshot.rows, producer=PRODUCER
        )
        return OutputDataset(
            namespace=self.data_namespace,
            name=self.dataset_name(step, output),
            facets={"schema": self._schema(snapshot.columns), "dataQualityMetrics": metrics},
            outputFacets={"outputStatistics": stats},
        )

    def file_input(self, path: str, fmt: str, rows: int | None, columns: Mapping[str, str] | None,
                   content_hash: str | None) -> InputDataset:
        input_facets: dict[str, InputDatasetFacet] = {}
        if rows is not None:
            input_facets["dataQualityMetrics"] = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                rowCount=rows, columnMetrics={}, producer=PRODUCER
            )
        return InputDataset(
            namespace="file",
            name=os.path.abspath(path),
            facets=self._file_facets(fmt, columns, content_hash),
            inputFacets=input_facets,
        )

    def file_output(self, path: str, fmt: str, rows: int | None, columns: Mapping[str, str] | None,
                    content_hash: str | None) -> OutputDataset:
        output_facets: dict[str, OutputDatasetFacet] = {}
        if rows is not None:
            output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=rows, producer=PRODUCER
            )
        return OutputDataset(
            namespace="file",
            name=os.path.abspath(path),
            facets=self._file_facets(fmt, columns, content_hash),
            outputFacets=output_facets,
        )

    def planned_output(self, step: str, output: str) -> OutputDataset:
        return OutputDataset(namespace=self.data_namespace, name=self.dataset_name(step, output))

    # -- parts ---------------------------------------------------------------------------------

    def _event(self, state: RunState, moment: datetime, run: Run, job: Job,
               inputs: Iterable[InputDataset] = (), outputs: Iterable[OutputDataset] = ()) -> RunEvent:
        return RunEvent(eventType=state, eventTime=moment.isoformat(), run=run, job=job,
                        inputs=list(inputs), outputs=list(outputs), producer=PRODUCER)

    def _pipeline_run(self, facets: dict[str, RunFacet]) -> Run:
        return Run(runId=self.run_uuid, facets=facets)

    def _pipeline_job(self) -> Job:
        return self._job(self.pipeline, "PIPELINE", self.description)

    def _job(self, name: str, kind: str, description: str) -> Job:
        # Facets are shared between a job's events; the Job and its dict are not (a client adds to them).
        facets = self._job_facets.get(name)
        if facets is None:
            facets = {
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration=INTEGRATION, jobType=kind, producer=PRODUCER
                )
            }
            if description:
                facets["documentation"] = documentation_job.DocumentationJobFacet(
                    description=description, producer=PRODUCER
                )
            for facet in facets.values():
                self._share(facet)
            self._job_facets[name] = facets
        return Job(namespace=self.namespace, name=name, facets=dict(facets))

    def _parent(self) -> parent_run.ParentRunFacet:
        if self._parent_facet is None:
            self._parent_facet = self._make_parent()
            self._share(self._parent_facet)
        return self._parent_facet

    def _make_parent(self) -> parent_run.ParentRunFacet:
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=self.run_uuid),
            job=parent_run.Job(namespace=self.namespace, name=self.pipeline),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=self.run_uuid),
                job=parent_run.RootJob(namespace=self.namespace, name=self.pipeline),
            ),
            producer=PRODUCER,
        )

    def _error(self, message: str) -> error_message_run.ErrorMessageRunFacet:
        return error_message_run.ErrorMessageRunFacet(message=message, programmingLanguage="python",
                                                      producer=PRODUCER)

    def _schema(self, columns: Mapping[str, str]) -> schema_dataset.SchemaDatasetFacet:
        key = tuple(columns.items())
        facet = self._schemas.get(key)
        if facet is None:
            fields = [schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=i + 1)
                      for i, (name, dtype) in enumerate(key)]
            facet = self._schemas[key] = schema_dataset.SchemaDatasetFacet(fields=fields, producer=PRODUCER)
            self._share(facet)
        return facet

    def _file_facets(self, fmt: str, columns: Mapping[str, str] | None,
                     content_hash: str | None) -> dict[str, DatasetFacet]:
        facets: dict[str, DatasetFacet] = {
            "storage": storage_dataset.StorageDatasetFacet(storageLayer="file", fileFormat=fmt, producer=PRODUCER)
        }
        if columns:
            facets["schema"] = self._schema(columns)
        if content_hash:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=content_hash, producer=PRODUCER
            )
        return facets


def make_client(transport: Any) -> OpenLineageClient:
    # An explicit transport: the client does not look for one in the environment or a config file.
    return OpenLineageClient(transport=transport)
