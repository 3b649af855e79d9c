"""The tracker over whole runs: concurrency, lineage, failures, counts, settings, and switching it off."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import kernel_tracker.plugin
import pytest
from helpers import write_pipeline
from tracker_support import read_json, run_pipeline, tracked_kernel

from kernel import Kernel, PipelineError, StepVerdict, hookimpl

FAN_OUT = [
    {"name": "src", "uses": "tt.table"},
    {"name": "a", "uses": "demo.scale", "needs": ["src"], "settings": {"factor": 2}},
    {"name": "b", "uses": "tt.reshape", "needs": ["src"]},
    {"name": "c", "uses": "demo.scale", "needs": ["src"], "settings": {"factor": 3}},
    {"name": "parts", "uses": "demo.split", "needs": ["a"]},
]

TIMINGS = {"taken_s", "duration_s", "started_at", "tracking_s", "run_id"}


def untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def test_concurrent_steps_give_the_same_tracker_files(demo_installed: Path, tmp_path: Path) -> None:
    one = run_pipeline(tmp_path / "one", FAN_OUT, workers=1)
    three = run_pipeline(tmp_path / "three", FAN_OUT, workers=3)
    assert one.ok and three.ok
    assert untimed(read_json(one, "tracker.json")) == untimed(read_json(three, "tracker.json"))
    assert untimed(read_json(one, "lineage.json")) == untimed(read_json(three, "lineage.json"))

    def lineage_events(result: Any) -> list[str]:  # the events without their times and run ids, in job order
        text = (result.run.run_dir / "openlineage.jsonl").read_text()
        text = re.sub(r'"(eventTime|runId)":"[^"]*"', "", text)
        return sorted(text.splitlines())

    assert lineage_events(one) == lineage_events(three)


def test_snapshot_count_is_the_number_of_snapshots_taken(demo_installed: Path, tmp_path: Path) -> None:
    tracked = read_json(run_pipeline(tmp_path, FAN_OUT), "tracker.json")
    taken = 0
    for track in tracked["steps"].values():
        taken += len(track["outputs"])
        taken += sum(1 for snap in track["inputs"].values() if snap["same_as"] is None)
    assert taken == tracked["snapshot_count"] == 6  # src, a, b, c, parts.even, parts.odd


def test_lineage_lists_the_files_steps_read_and_wrote(demo_installed: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("x,keep\n1,0.5\n2,1.5\n")
    steps = [
        {"name": "load", "uses": "tt.reader", "settings": {"path": str(source)}},
        {"name": "again", "uses": "tt.reader", "settings": {"path": str(source)}},
        {"name": "shape", "uses": "tt.reshape", "needs": ["load"]},
        {"name": "save", "uses": "tt.writer", "needs": ["shape"], "settings": {"path": "${run.dir}/out.csv"}},
    ]
    result = run_pipeline(tmp_path, steps)
    assert result.ok, result.record.error
    lineage = read_json(result, "lineage.json")
    by_path = {d["path"]: d for d in lineage["datasets"]}
    written = str(result.run.run_dir / "out.csv")
    assert by_path[str(source)] == {
        "path": str(source), "format": "csv", "columns": {"x": "int64", "keep": "float64"}, "rows": 2,
        "content_hash": "sha256:" + "0" * 64, "read_by": ["load", "again"], "written_by": [],
    }
    assert by_path[written]["written_by"] == ["save"] and by_path[written]["read_by"] == []
    assert by_path[written]["rows"] == 2 and by_path[written]["columns"] is None  # not reported: not invented
    assert lineage["edges"] == [["load", "shape"], ["shape", "save"]]
    steps_by_name = {s["name"]: s for s in lineage["steps"]}
    assert steps_by_name["shape"]["inputs"] == [{"name": "load", "step": "load", "output": "out"}]
    assert steps_by_name["save"]["outputs"] == []
    assert steps_by_name["shape"]["schema_diff"]["out"]["added"] == {"y": "int64"}
    assert [s["name"] for s in lineage["steps"]] == list(result.run.plan.steps)


def test_the_files_a_failed_step_read_stay_in_the_lineage(demo_installed: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("x,keep\n1,0.5\n2,1.5\n")
    result = run_pipeline(tmp_path, [{"name": "try", "uses": "tt.read_then_fail", "settings": {"path": str(source)}}])
    assert not result.ok
    assert [(d.mode, d.path, d.rows) for d in result.record.steps["try"].datasets] == [("read", str(source), 2)]
    (entry,) = read_json(result, "lineage.json")["datasets"]
    assert (entry["path"], entry["read_by"], entry["rows"]) == (str(source), ["try"], 2)
    lines = (result.run.run_dir / "openlineage.jsonl").read_text().splitlines()
    fail = next(e for e in map(json.loads, lines) if e["eventType"] == "FAIL" and e["job"]["name"].endswith(".try"))
    assert [(i["namespace"], i["name"]) for i in fail["inputs"]] == [("file", str(source))]


def test_lineage_carries_the_business_context(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "demo.numbers"}], description="Counts things",
                          domain="retail", archetype="star-schema", kpis=["revenue", {"name": "m", "description": "d"}])
    result = tracked_kernel(report_fields=True).run(path, runs_root=tmp_path / "runs")
    lineage = read_json(result, "lineage.json")
    assert (lineage["description"], lineage["domain"], lineage["archetype"]) == ("Counts things", "retail",
                                                                                 "star-schema")
    assert lineage["kpis"] == [{"name": "revenue", "description": ""}, {"name": "m", "description": "d"}]
    assert lineage["topology"] == "linear"


def test_a_failed_step_and_the_steps_after_it_are_recorded(demo_installed: Path, tmp_path: Path) -> None:
    steps = [
        {"name": "n", "uses": "demo.numbers"},
        {"name": "bad", "uses": "demo.boom", "needs": ["n"], "settings": {"message": "no luck"}},
        {"name": "after", "uses": "demo.scale", "needs": ["bad"]},
    ]
    result = run_pipeline(tmp_path, steps)
    assert not result.ok
    tracked = read_json(result, "tracker.json")
    bad, after = tracked["steps"]["bad"], tracked["steps"]["after"]
    assert (bad["status"], bad["error"], bad["outputs"]) == ("failed", "ValueError: no luck", {})
    assert bad["inputs"]["n"]["rows"] == 3  # what it was given is known
    assert (after["status"], after["skipped_because"]) == ("skipped", "upstream step 'bad' did not succeed")
    assert after["inputs"] == {} and after["duration_s"] is None
    assert read_json(result, "lineage.json")["steps"][1]["status"] == "failed"


def test_retries_are_counted(demo_installed: Path, tmp_path: Path) -> None:
    steps = [
        {"name": "n", "uses": "demo.numbers"},
        {"name": "f", "uses": "demo.flaky", "needs": ["n"], "retries": {"attempts": 2, "delay": 0},
         "settings": {"counter": str(tmp_path / "count"), "fail_times": 1}},
    ]
    tracked = read_json(run_pipeline(tmp_path, steps), "tracker.json")
    assert tracked["steps"]["f"]["attempts"] == 2
    assert tracked["snapshot_count"] == 2


def test_disabling_the_tracker_writes_no_tracker_file(demo_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "n", "uses": "demo.numbers"}]
    by_kernel = run_pipeline(tmp_path / "k", steps, kernel=tracked_kernel(disable=("tracker",)))
    path = write_pipeline(tmp_path, steps, plugins={"disable": ["tracker"]})
    by_file = tracked_kernel().run(path, runs_root=tmp_path / "runs")
    for result in (by_kernel, by_file):
        assert result.ok
        names = {p.name for p in result.run.run_dir.iterdir()}
        assert names.isdisjoint({"tracker.json", "lineage.json", "openlineage.jsonl"}), names
        assert "tracker" not in result.record.plugins


def test_openlineage_can_be_switched_off(demo_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "n", "uses": "demo.numbers"}]
    result = run_pipeline(tmp_path, steps, tracker={"openlineage": {"enabled": False}})
    names = {p.name for p in result.run.run_dir.iterdir()}
    assert "openlineage.jsonl" not in names and {"tracker.json", "lineage.json"} <= names
    assert "openlineage" not in read_json(result, "tracker.json")


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"sample": 3}, "plugins.settings.tracker.sample: unknown setting"),
        ({"samples": -2}, "plugins.settings.tracker.samples:"),
        ({"openlineage": {"enable": False}}, "plugins.settings.tracker.openlineage.enable: unknown setting"),
        ({"openlineage": {"transport": {"url": "http://x"}}}, "plugins.settings.tracker.openlineage.transport:"),
        ({"openlineage": {"transport": {"type": "http"}}}, "plugins.settings.tracker.openlineage.transport:"),
        ({"openlineage": {"transport": {"type": "pigeon"}}}, "unknown transport type 'pigeon'"),
    ],
)
def test_bad_settings_stop_the_run_before_it_starts(
    demo_installed: Path, tmp_path: Path, settings: dict[str, Any], field: str
) -> None:
    path = write_pipeline(tmp_path, [{"name": "n", "uses": "demo.numbers"}],
                          plugins={"settings": {"tracker": settings}})
    with pytest.raises(PipelineError) as caught:
        tracked_kernel().run(path, runs_root=tmp_path / "runs")
    message = str(caught.value)
    assert "plugin 'tracker'" in message and field in message
    assert "\n" not in message
    assert not (tmp_path / "runs").exists()


def test_a_blocked_step_is_recorded_as_the_run_record_words_it(demo_installed: Path, tmp_path: Path) -> None:
    class Gate:
        @hookimpl
        def after_step_run(self, step: Any) -> StepVerdict | None:
            return StepVerdict(blocked_because="check 'x_positive' failed") if step.name == "s" else None

    kernel = Kernel(entry_points=False, plugins=[("demo", importlib.import_module("kernel_demo_steps")),
                                                 ("gate", Gate()), ("tracker", kernel_tracker.plugin)])
    steps = [{"name": "n", "uses": "demo.numbers"}, {"name": "s", "uses": "demo.scale", "needs": ["n"]}]
    result = run_pipeline(tmp_path, steps, kernel=kernel)
    blocked = read_json(result, "tracker.json")["steps"]["s"]
    assert blocked["status"] == "blocked" == result.record.steps["s"].status
    assert blocked["error"] == result.record.steps["s"].error == "check 'x_positive' failed"
    assert blocked["outputs"] == {}
