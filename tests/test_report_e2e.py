"""The report with the real tracker and validator in the run: its figures are theirs."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path
from typing import Any

import kernel_report.plugin
import pytest
from helpers import write_pipeline
from report_support import md_facts, md_sections, md_table, read_json

from kernel import Kernel, RunResult

STEPS: list[dict[str, Any]] = [
    {"name": "nums", "uses": "demo.numbers", "settings": {"n": 6}, "checks": [
        {"check": "in_range", "column": "x", "max": 3, "on_fail": "quarantine"},
        {"check": "not_null", "column": "x"},
        {"check": "unique", "column": "x", "severity": "warn"},
    ]},
    {"name": "split", "uses": "demo.split", "needs": ["nums"]},
    {"name": "scaled", "uses": "demo.scale", "needs": {"frame": "split.even"}},
    {"name": "both", "uses": "demo.concat", "needs": {"a": "scaled", "b": "split.odd"}},
]


def run_all_three(tmp_path: Path, disable: tuple[str, ...] = ()) -> RunResult:
    plugins = [("demo", importlib.import_module("kernel_demo_steps"))]
    plugins += [(name, importlib.import_module(f"kernel_{name}.plugin")) for name in ("tracker", "validator")]
    plugins.append(("report", kernel_report.plugin))
    kernel = Kernel(entry_points=False, plugins=plugins, disable=disable)
    path = write_pipeline(tmp_path, STEPS, plugins={"settings": {"report": {"charts": False}}})
    return kernel.run(path, runs_root=tmp_path / "runs")


@pytest.fixture
def run_dir(demo_installed: Path, tmp_path: Path) -> Path:
    result = run_all_three(tmp_path)
    assert result.ok, result.record.error
    return result.run.run_dir


def test_the_tracker_and_the_validator_add_their_own_sections_with_their_figures(run_dir: Path) -> None:
    tracker, validation = read_json(run_dir / "tracker.json"), read_json(run_dir / "validation.json")
    sections = md_sections((run_dir / "report.md").read_text())
    # The validator's checks with the answer (what needs attention), the tracker's schema changes with the details.
    assert list(sections)[:3] == ["Status", "Checks", "Data quality"]
    assert list(sections)[-2:] == ["Schema changes", "Business context"]
    assert int(md_facts(sections["Schema changes"])["snapshots"]) == tracker["snapshot_count"]
    facts = md_facts(sections["Checks"])
    assert int(facts["checks run"]) == len(validation["checks"])
    assert int(facts["checks failed"]) == sum(not c["passed"] for c in validation["checks"])
    execution = md_facts(sections["Execution metrics"])
    assert execution["plugins that took part"] == "demo, report, tracker, validator"


def test_checks_and_schema_changes_are_read_from_their_files(run_dir: Path) -> None:
    tracker, validation = read_json(run_dir / "tracker.json"), read_json(run_dir / "validation.json")
    sections = md_sections((run_dir / "report.md").read_text())
    checks = md_table(sections["Checks"], "check id")
    assert [(c["check id"], c["result"], int(c["rows failed"])) for c in checks] == [
        (c["id"], "passed" if c["passed"] else "failed", c["rows_failed"]) for c in validation["checks"]
    ]
    quarantined: Counter[str] = Counter()
    for q in validation["quarantine"]:
        quarantined[q["reason"]] += q["rows"]
    assert quarantined  # the in_range check quarantines rows
    shown: Counter[str] = Counter()
    for r in md_table(sections["Checks"], "step"):
        shown[r["reason"]] += int(r["rows quarantined"])
    assert shown == quarantined
    changed = {(step, out) for step, info in tracker["steps"].items()
               for out, diff in info["schema_diff"].items() if diff["added"] or diff["removed"] or diff["retyped"]}
    assert {(r["step"], r["output"]) for r in md_table(sections["Schema changes"], "step")} == changed
    assert "lineage.json, openlineage.jsonl" in sections["Schema changes"]


def test_with_the_tracker_and_validator_disabled_the_report_says_so(demo_installed: Path, tmp_path: Path) -> None:
    result = run_all_three(tmp_path, disable=("tracker", "validator"))
    run_dir = result.run.run_dir
    assert not (run_dir / "tracker.json").exists() and not (run_dir / "validation.json").exists()
    sections = md_sections((run_dir / "report.md").read_text())
    assert not {"Schema changes", "Checks"} & set(sections)
    assert md_facts(sections["Execution metrics"])["plugins that took part"] == "demo, report"
    assert "validator" not in sections["Data quality"]  # no pointer to a section that is not there
