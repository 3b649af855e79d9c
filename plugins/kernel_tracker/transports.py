"""Where the tracker's OpenLineage events go: JSON lines in the run directory, and a client's transport.

The run directory's file is written from the event dicts with orjson, no client object involved. The
parts that many events repeat (a schema, the parent run, a job, an output several steps read) go through
:func:`share`: serialised once, then copied into each line as bytes. Only when a transport is
configured is the OpenLineage client imported (half a second): :class:`ClientSender` wraps each event
into the client's typed ``RunEvent`` and hands it to ``OpenLineageClient.emit``, so every transport
the client has works as it always has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from kernel_tracker.ol_events import Json

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.facet_v2 import job_type_job, parent_run
    from openlineage.client.transport import Transport

# A subclass of a builtin reaches _default: that is how a Shared dict is written from its bytes.
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS


class Shared(dict[str, Any]):
    """A dict that events repeat, with its JSON made once (keys sorted, as every line has them).

    It lives as long as the events and caches that hold it, so memory stays bounded by them. A copy
    or a pickle of it is a plain dict: the bytes stay behind (``copy.deepcopy`` of an event, which
    some of the client's transports make, cannot copy an ``orjson.Fragment``).
    """

    __slots__ = ("json",)

    def __init__(self, value: Json) -> None:
        super().__init__(value)
        self.json = orjson.Fragment(dumps(value))

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (dict(self),)


def share(value: Json) -> Json:
    """``value`` as a :class:`Shared` dict: events that hold it are written with its bytes."""
    return value if isinstance(value, Shared) else Shared(value)


def _default(value: object) -> object:
    # Only subclasses of builtins come here (OPT_PASSTHROUGH_SUBCLASS): written as the builtin would be,
    # an Enum as its value (as the client's Serde does).
    if isinstance(value, Shared):
        return value.json
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object) -> bytes:
    """JSON of ``value``, keys sorted, :class:`Shared` parts from their bytes."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)


class RunDirWriter:
    """Appends each event as one JSON line to a file it keeps open for the run, flushed after each line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def write(self, event: Json) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        self._file.write(orjson.dumps(event, default=_default, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class ClientSender:
    """Sends events through an ``OpenLineageClient`` with ``transport``, wrapped in the client's classes.

    Facets stay the dicts they are (attrs checks no types, ``Serde`` writes a dict as it is), except the
    two that the client's transports read as objects: ``parent`` (Kafka's message key) and ``jobType``
    (the Datadog and Google Lineage transports' routing rules).
    """

    def __init__(self, transport: Transport) -> None:
        from openlineage.client import OpenLineageClient

        # An explicit transport: the client does not look for one in the environment or a config file.
        self.client: OpenLineageClient = OpenLineageClient(transport=transport)
        # id of a facet dict -> the dict (kept alive, so that its id stays its own) and its typed facet
        self._typed: dict[int, tuple[Json, object]] = {}

    def emit(self, event: Json) -> None:
        self.client.emit(self.wrap(event))

    def close(self) -> None:
        self._typed.clear()
        self.client.close()

    def wrap(self, event: Json) -> RunEvent:
        """``event`` as the client's ``RunEvent``; ``Serde.to_json`` of it is the JSON of ``event``."""
        from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

        run, job = event["run"], event["job"]
        # New facet dicts for the run and the job: the client adds its own facets (tags) to them.
        run_facets = dict(run["facets"])
        if "parent" in run_facets:
            run_facets["parent"] = self._typed_facet(run_facets["parent"], _parent_run)
        job_facets = dict(job["facets"])
        if "jobType" in job_facets:
            job_facets["jobType"] = self._typed_facet(job_facets["jobType"], _job_type)
        return RunEvent(
            eventType=RunState(event["eventType"]),
            eventTime=event["eventTime"],
            run=Run(runId=run["runId"], facets=run_facets),
            job=Job(namespace=job["namespace"], name=job["name"], facets=job_facets),
            inputs=[InputDataset(namespace=d["namespace"], name=d["name"], facets=d["facets"],
                                 inputFacets=d["inputFacets"]) for d in event["inputs"]],
            outputs=[OutputDataset(namespace=d["namespace"], name=d["name"], facets=d["facets"],
                                   outputFacets=d["outputFacets"]) for d in event["outputs"]],
            producer=event["producer"],
        )

    def _typed_facet(self, facet: Json, make: Callable[[Json], object]) -> object:
        # The builder reuses these dicts for the whole run (one parent, one job type per job): each is
        # typed once, and there are as many as jobs.
        known = self._typed.get(id(facet))
        if known is None:
            known = self._typed[id(facet)] = (facet, make(facet))
        return known[1]


def _parent_run(facet: Json) -> parent_run.ParentRunFacet:
    from openlineage.client.facet_v2 import parent_run

    run, job, root = facet["run"], facet["job"], facet.get("root")
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run["runId"]),
        job=parent_run.Job(namespace=job["namespace"], name=job["name"]),
        root=None if root is None else parent_run.Root(
            run=parent_run.RootRun(runId=root["run"]["runId"]),
            job=parent_run.RootJob(namespace=root["job"]["namespace"], name=root["job"]["name"]),
        ),
        producer=facet["_producer"],
    )


def _job_type(facet: Json) -> job_type_job.JobTypeJobFacet:
    from openlineage.client.facet_v2 import job_type_job

    return job_type_job.JobTypeJobFacet(processingType=facet["processingType"], integration=facet["integration"],
                                        jobType=facet.get("jobType"), producer=facet["_producer"])


def make_transport(config: Mapping[str, Any]) -> Transport:
    """A transport of the client from its configuration mapping, as the client's factory makes it."""
    from openlineage.client.transport import get_default_factory

    return get_default_factory().create(dict(config))
