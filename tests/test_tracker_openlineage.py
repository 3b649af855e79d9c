"""OpenLineage run events: valid against the spec, START then COMPLETE or FAIL for the run and each step.

openlineage-python does not ship the spec's JSON Schema, and the tests do not download it: SPEC below
writes out, from the OpenLineage 2-0-2 spec and the facet specs the client names in each facet's
``_schemaURL``, the parts these events use (required fields, types, formats of ids and times), and
``check`` applies that JSON Schema subset (jsonschema is not among the test dependencies).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kernel_tracker.ol_events import PRODUCER, EventBuilder
from kernel_tracker.snapshot import Snapshotter
from kernel_tracker.tracker import read_tracker
from openlineage.client.transport import Transport
from tracker_support import events, read_json, run_pipeline

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DATE_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
URI = r"^[a-z][a-z0-9+.-]*:"
NAMED = {"type": "object", "required": ["namespace", "name"],
         "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}}}
RUN_ID = {"type": "object", "required": ["runId"], "properties": {"runId": {"type": "string", "pattern": UUID}}}
FACET_MAP = {"type": "object", "additionalProperties": {"$ref": "#/$defs/BaseFacet"}}
COLUMN_METRICS = {"type": "object", "additionalProperties": {"type": "object", "properties": {
    "nullCount": {"type": "integer"}, "distinctCount": {"type": "integer"}, "sum": {"type": "number"},
    "count": {"type": "number"}, "min": {"type": "number"}, "max": {"type": "number"},
    "quantiles": {"type": "object", "additionalProperties": {"type": "number"}}}}}

SPEC: dict[str, Any] = {
    "$ref": "#/$defs/RunEvent",
    "$defs": {
        "RunEvent": {
            "type": "object",
            "required": ["eventTime", "producer", "schemaURL", "run", "job"],
            "properties": {
                "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
                "eventTime": {"type": "string", "pattern": DATE_TIME},
                "producer": {"type": "string", "pattern": URI},
                "schemaURL": {"type": "string", "pattern": URI},
                "run": {"type": "object", "allOf": [RUN_ID], "properties": {"facets": FACET_MAP}},
                "job": {"allOf": [NAMED], "properties": {"facets": FACET_MAP}},
                "inputs": {"type": "array", "items": {"allOf": [NAMED], "properties": {
                    "facets": FACET_MAP, "inputFacets": FACET_MAP}}},
                "outputs": {"type": "array", "items": {"allOf": [NAMED], "properties": {
                    "facets": FACET_MAP, "outputFacets": FACET_MAP}}},
            },
        },
        "BaseFacet": {
            "type": "object",
            "required": ["_producer", "_schemaURL"],
            "properties": {"_producer": {"type": "string", "pattern": URI},
                           "_schemaURL": {"type": "string", "pattern": URI},
                           "_deleted": {"type": "boolean"}},
        },
        # the facets, by the name their _schemaURL ends with
        "SchemaDatasetFacet": {"type": "object", "properties": {"fields": {"type": "array", "items": {
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"},
                "ordinal_position": {"type": "integer"}, "fields": {"type": "array"}}}}}},
        "DataQualityMetricsInputDatasetFacet": {"type": "object", "required": ["columnMetrics"], "properties": {
            "rowCount": {"type": "integer"}, "bytes": {"type": "integer"}, "fileCount": {"type": "integer"},
            "columnMetrics": COLUMN_METRICS}},
        "DataQualityMetricsDatasetFacet": {"type": "object", "required": ["columnMetrics"], "properties": {
            "rowCount": {"type": "integer"}, "bytes": {"type": "integer"}, "fileCount": {"type": "integer"},
            "columnMetrics": COLUMN_METRICS}},
        "OutputStatisticsOutputDatasetFacet": {"type": "object", "properties": {
            "rowCount": {"type": "integer"}, "size": {"type": "integer"}, "fileCount": {"type": "integer"}}},
        "ParentRunFacet": {"type": "object", "required": ["run", "job"], "properties": {
            "run": RUN_ID, "job": NAMED,
            "root": {"type": "object", "required": ["run", "job"], "properties": {"run": RUN_ID, "job": NAMED}}}},
        "ErrorMessageRunFacet": {"type": "object", "required": ["message", "programmingLanguage"], "properties": {
            "message": {"type": "string"}, "programmingLanguage": {"type": "string"},
            "stackTrace": {"type": "string"}}},
        "ProcessingEngineRunFacet": {"type": "object", "required": ["version"], "properties": {
            "version": {"type": "string"}, "name": {"type": "string"},
            "openlineageAdapterVersion": {"type": "string"}}},
        "JobTypeJobFacet": {"type": "object", "required": ["processingType", "integration"], "properties": {
            "processingType": {"type": "string"}, "integration": {"type": "string"}, "jobType": {"type": "string"}}},
        "DocumentationJobFacet": {"type": "object", "required": ["description"],
                                  "properties": {"description": {"type": "string"}}},
        "StorageDatasetFacet": {"type": "object", "required": ["storageLayer"], "properties": {
            "storageLayer": {"type": "string"}, "fileFormat": {"type": "string"}}},
        "DatasetVersionDatasetFacet": {"type": "object", "required": ["datasetVersion"],
                                       "properties": {"datasetVersion": {"type": "string"}}},
    },
}
TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float)}


def check(value: Any, schema: dict[str, Any], where: str = "event") -> list[str]:
    """What is wrong with ``value`` under ``schema`` (type, required, properties, additionalProperties,
    items, enum, pattern, allOf and $ref to SPEC's $defs: the JSON Schema keywords SPEC uses)."""
    if "$ref" in schema:
        return check(value, SPEC["$defs"][schema["$ref"].rsplit("/", 1)[1]], where)
    problems: list[str] = []
    kind = schema.get("type")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{where}: {value!r} is not an integer"]
    elif kind is not None and (not isinstance(value, TYPES[kind]) or (kind == "number" and isinstance(value, bool))):
        return [f"{where}: {value!r} is not of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    for part in schema.get("allOf", []):
        problems += check(value, part, where)
    if isinstance(value, dict):
        problems += [f"{where}: '{name}' is required" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name in schema.get("properties", {}):
                problems += check(item, schema["properties"][name], f"{where}.{name}")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += check(item, schema["additionalProperties"], f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check(item, schema["items"], f"{where}[{i}]")
    return problems


def facets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = [*event["run"].get("facets", {}).values(), *event["job"].get("facets", {}).values()]
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            found += dataset.get(key, {}).values()
    return found


def spec_problems(event: dict[str, Any]) -> list[str]:
    """The RunEvent against SPEC, then each facet against the definition its ``_schemaURL`` names."""
    problems = check(event, SPEC)
    for facet in facets_of(event):
        match = re.fullmatch(r"https://openlineage\.io/spec/facets/\d+-\d+-\d+/(\w+)\.json#/\$defs/(\w+)",
                             str(facet.get("_schemaURL")))
        if match is None or match.group(2) not in SPEC["$defs"]:
            problems.append(f"facet with an unknown _schemaURL: {facet.get('_schemaURL')}")
            continue
        problems += check(facet, {"$ref": f"#/$defs/{match.group(2)}"}, match.group(2))
    return problems


def assert_valid(event: dict[str, Any]) -> None:
    assert spec_problems(event) == []


DIAMOND = [
    {"name": "src", "uses": "tt.table"},
    {"name": "left", "uses": "demo.scale", "needs": ["src"]},
    {"name": "right", "uses": "tt.reshape", "needs": ["src"]},
    {"name": "both", "uses": "demo.concat", "needs": ["left", "right"]},
]


def test_every_event_is_valid_and_each_run_starts_then_ends(demo_installed: Path, tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, DIAMOND)
    assert result.ok
    sent = events(result)
    for event in sent:
        assert_valid(event)
        assert event["producer"] == PRODUCER
    by_job: dict[str, list[str]] = {}
    for event in sent:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {"demo": ["START", "COMPLETE"], **{f"demo.{s['name']}": ["START", "COMPLETE"] for s in DIAMOND}}
    assert sent[0]["job"]["name"] == "demo" and sent[-1]["job"]["name"] == "demo"
    assert read_json(result, "tracker.json")["openlineage"]["events"] == len(sent) == 10


def test_step_runs_are_children_of_the_pipeline_run(demo_installed: Path, tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, DIAMOND)
    sent = events(result)
    pipeline_run = sent[0]["run"]["runId"]
    step_runs = {}
    for event in sent[1:-1]:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == pipeline_run
        assert (parent["job"]["namespace"], parent["job"]["name"]) == ("kernel", "demo")
        assert parent["root"]["run"]["runId"] == pipeline_run
        step_runs.setdefault(event["job"]["name"], set()).add(event["run"]["runId"])
    assert all(len(ids) == 1 for ids in step_runs.values())  # START and COMPLETE share the step's run
    assert len(set.union(*step_runs.values())) == len(DIAMOND)


def test_event_times_are_the_runs_times(demo_installed: Path, tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, DIAMOND)
    sent = events(result)
    times = [datetime.fromisoformat(e["eventTime"]) for e in sent]
    run_start = datetime.fromisoformat(result.record.started_at or "")
    assert times[0] == run_start
    record = result.record.steps["right"]
    start, end = [t for t, e in zip(times, sent, strict=True) if e["job"]["name"] == "demo.right"]
    assert abs((start - run_start).total_seconds() - (record.start_s or 0)) < 2e-6
    assert abs((end - start).total_seconds() - (record.duration_s or 0)) < 1e-5
    assert times == sorted(times)
    assert times[-1] <= datetime.now(UTC)


def test_datasets_carry_schema_and_quality_facets_from_the_snapshots(demo_installed: Path, tmp_path: Path) -> None:
    result = run_pipeline(tmp_path, DIAMOND)
    snapshot = read_tracker(result.run.run_dir)["steps"]["src"]["outputs"]["out"]
    complete = next(e for e in events(result) if e["job"]["name"] == "demo.src" and e["eventType"] == "COMPLETE")
    (out,) = complete["outputs"]
    assert (out["namespace"], out["name"]) == ("kernel://demo", "demo.src.out")
    assert [(f["name"], f["type"]) for f in out["facets"]["schema"]["fields"]] == list(snapshot["columns"].items())
    metrics = out["facets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == snapshot["rows"] == out["outputFacets"]["outputStatistics"]["rowCount"]
    assert {c: m["nullCount"] for c, m in metrics["columnMetrics"].items()} == snapshot["nulls"]
    start = next(e for e in events(result) if e["job"]["name"] == "demo.right" and e["eventType"] == "START")
    (given,) = start["inputs"]
    assert given["name"] == "demo.src.out"
    assert given["facets"]["schema"] == out["facets"]["schema"]
    assert given["inputFacets"]["dataQualityMetrics"]["rowCount"] == snapshot["rows"]
    # The step's COMPLETE names the input its START described (a run's events accumulate): not again in full.
    end = next(e for e in events(result) if e["job"]["name"] == "demo.right" and e["eventType"] == "COMPLETE")
    assert end["inputs"] == [{"facets": {}, "inputFacets": {}, "name": "demo.src.out", "namespace": "kernel://demo"}]
    # Empty nested fields and quantiles are left out, as the client leaves out what is None.
    assert all(field.keys() == {"name", "type", "ordinal_position"} for field in out["facets"]["schema"]["fields"])
    assert all(column.keys() == {"nullCount"} for column in metrics["columnMetrics"].values())


def test_a_failing_step_sends_fail_and_a_skipped_step_sends_nothing(demo_installed: Path, tmp_path: Path) -> None:
    steps = [
        {"name": "n", "uses": "demo.numbers"},
        {"name": "bad", "uses": "demo.boom", "needs": ["n"], "settings": {"message": "kaput"}},
        {"name": "after", "uses": "demo.scale", "needs": ["bad"]},
    ]
    result = run_pipeline(tmp_path, steps)
    sent = events(result)
    for event in sent:
        assert_valid(event)
    kinds = [(e["job"]["name"], e["eventType"]) for e in sent]
    assert kinds == [("demo", "START"), ("demo.n", "START"), ("demo.n", "COMPLETE"), ("demo.bad", "START"),
                     ("demo.bad", "FAIL"), ("demo", "FAIL")]
    assert sent[4]["run"]["facets"]["errorMessage"]["message"] == "ValueError: kaput"
    # its START described its input; its FAIL names it
    assert sent[3]["inputs"][0]["inputFacets"]["dataQualityMetrics"]["rowCount"] > 0
    assert sent[4]["inputs"] == [{"facets": {}, "inputFacets": {}, "name": "demo.n.out", "namespace": "kernel://demo"}]
    assert "bad" in sent[5]["run"]["facets"]["errorMessage"]["message"]


def test_files_are_datasets_in_the_file_namespace(demo_installed: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("x,keep\n1,0.5\n")
    steps = [
        {"name": "load", "uses": "tt.reader", "settings": {"path": str(source)}},
        {"name": "save", "uses": "tt.writer", "needs": ["load"], "settings": {"path": "${run.dir}/out.csv"}},
    ]
    result = run_pipeline(tmp_path, steps)
    sent = events(result)
    load = next(e for e in sent if e["job"]["name"] == "demo.load" and e["eventType"] == "COMPLETE")
    (read,) = load["inputs"]
    assert (read["namespace"], read["name"]) == ("file", str(source))
    assert read["facets"]["version"]["datasetVersion"] == "sha256:" + "0" * 64
    assert read["facets"]["storage"]["fileFormat"] == "csv"
    save = next(e for e in sent if e["job"]["name"] == "demo.save" and e["eventType"] == "COMPLETE")
    assert [(o["namespace"], o["name"]) for o in save["outputs"]] == [("file", str(result.run.run_dir / "out.csv"))]
    assert save["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 1
    last = sent[-1]
    assert [i["name"] for i in last["inputs"]] == [str(source)]  # the pipeline's own inputs and outputs
    assert [o["name"] for o in last["outputs"]] == [str(result.run.run_dir / "out.csv")]


def test_a_configured_transport_gets_the_same_events(demo_installed: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"
    transport = {"type": "file", "log_file_path": str(target), "append": True}
    result = run_pipeline(tmp_path, DIAMOND, tracker={"openlineage": {"transport": transport}})
    elsewhere = [json.loads(line) for line in target.read_text().splitlines()]
    for event in elsewhere:  # the client adds its own tags facet (its version) to what it sends
        assert event["run"]["facets"].pop("tags")["tags"][0]["key"] == "openlineage_client_version"
    assert elsewhere == events(result)  # and serialises with Serde: the same JSON as the run directory's file
    summary = read_json(result, "tracker.json")["openlineage"]
    assert summary["transport"] == {"type": "file", "sent": len(elsewhere)}
    assert summary["failures"] == 0


class BrokenTransport(Transport):
    kind = "broken"

    def __init__(self, config: object) -> None:
        pass

    def emit(self, event: Any) -> None:
        raise ConnectionError("lineage server is down")


def test_a_failing_transport_does_not_stop_the_run(demo_installed: Path, tmp_path: Path) -> None:
    transport = {"type": "test_tracker_openlineage.BrokenTransport"}
    result = run_pipeline(tmp_path, DIAMOND, tracker={"openlineage": {"transport": transport}})
    assert result.ok and not result.record.listener_errors
    summary = read_json(result, "tracker.json")["openlineage"]
    assert summary["failures"] == summary["events"] == len(events(result)) == 10
    assert summary["transport"]["sent"] == 0
    assert "lineage server is down" in summary["errors"][0]


def test_the_spec_check_finds_what_is_wrong(demo_installed: Path, tmp_path: Path) -> None:
    good = events(run_pipeline(tmp_path, DIAMOND[:2]))[2]  # a step's COMPLETE, with every kind of facet
    assert spec_problems(good) == []
    broken = json.loads(json.dumps(good))
    del broken["producer"]
    broken["eventType"] = "DONE"
    broken["run"]["runId"] = "run-1"
    del broken["run"]["facets"]["parent"]["_producer"]
    broken["outputs"][0]["facets"]["dataQualityMetrics"]["rowCount"] = "4"
    broken["outputs"][0]["facets"]["schema"]["fields"][0].pop("name")
    broken["job"]["facets"]["jobType"]["_schemaURL"] = "https://example.com/Mine.json#/$defs/Mine"
    problems = "\n".join(spec_problems(broken))
    for expected in ("'producer' is required", "'DONE' is not one of", "'run-1' does not match",
                     "'_producer' is required", "'4' is not an integer", "'name' is required",
                     "unknown _schemaURL"):
        assert expected in problems


def test_wide_frames_keep_their_own_column_metrics_and_schema_one_after_the_other() -> None:
    # Metrics and schema facets are reused from the last frame only when they are the same.
    builder = EventBuilder(pipeline="p", run_id="r", namespace="n")
    snapshotter = Snapshotter(0)
    base = pd.DataFrame({f"c{i}": np.arange(4.0) for i in range(40)})
    frames = [base, base.copy(), base.assign(c3=[np.nan, 1.0, np.nan, 2.0]), base.astype({"c5": "int64"}), base]
    for frame in frames:
        out = builder.frame_output("s", "out", snapshotter.take(frame))
        metrics = out["facets"]["dataQualityMetrics"]["columnMetrics"]
        assert {c: m["nullCount"] for c, m in metrics.items()} == frame.isna().sum().to_dict()
        fields = out["facets"]["schema"]["fields"]
        assert [(f["name"], f["type"]) for f in fields] == [(c, str(t)) for c, t in frame.dtypes.items()]
