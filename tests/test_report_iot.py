"""The flagship's report when a quality gate stops the run, and when device models have hostile names."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from kernel_iot.generate import generate
from report_support import Tags, md_facts, md_rows, md_sections, md_table

from kernel import Kernel, RunResult

PIPELINE = Path(__file__).parents[1] / "showcases/007-iot-windowed-kpi/pipeline.yaml"
DAYS = 2
# The KPIs and what needs attention first; the tables by day with the details.
IOT_SECTIONS = ["IoT KPIs", "Quarantine, late records and conservation", "Uptime per day",
                "Firmware adoption per day and model"]
QUARANTINE = "Quarantine, late records and conservation"
# Names with Markdown, HTML, LaTeX (matplotlib's math text) and Mermaid meaning.
HOSTILE = [
    "$x_{$", r"$\frac{1}{2}$", "<b>bold</b><script>alert(1)</script>", "&lt;i&gt; &amp;", "a|b||c", "`code` ``x",
    "*em* _em_ **b**", "[link](javascript:alert(1))", "# heading", "~~strike~~", "\\", "_hidden", "%%{init: {}}%%",
    "A-->B;C[x]", 'say "hi" \'x\'', "1. list", "> quote", "$$", "{{ jinja }}", "x^2 \\alpha",
]


def run(data: Path, tmp: Path, run_id: str, pipeline: Path = PIPELINE, **params: str) -> RunResult:
    values = {"data": str(data), "refresh": f"{DAYS}d", "gold": str(tmp / "gold"), **params}
    return Kernel().run(pipeline, params=values, run_id=run_id, runs_root=tmp / "runs")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iot-data") / "data"
    generate(out, devices=16, days=DAYS, seed=3)
    return out


@pytest.fixture(scope="module")
def published(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The figures an uninterrupted run publishes: what a stopped run must still show, where it measured them."""
    tmp = tmp_path_factory.mktemp("good")
    assert run(data, tmp, "good").ok
    kpis: dict[str, Any] = json.loads((tmp / "gold/kpis.json").read_text())
    return kpis


def sections(result: RunResult) -> dict[str, str]:
    return md_sections((result.run.run_dir / "report.md").read_text())


def by_reason(section: str, caption: str) -> dict[str, int]:
    """The (reason, rows) table that follows ``caption``."""
    part = section.split(caption + "\n", 1)[1]
    return {row["reason"]: int(row["rows"]) for row in md_table(part, "reason")}


def test_a_gate_stop_at_conform_still_shows_quarantine_and_duplicates(
    data: Path, published: dict[str, Any], tmp_path: Path
) -> None:
    # The freshness gate fails: the period ends before the data.
    result = run(data, tmp_path, "stale", period_end="2025-12-01T00:00:00Z")
    assert result.record.steps["conform"].status == "blocked"
    assert result.record.steps["publish"].status == "skipped"
    parts = sections(result)
    quality = parts["Data quality"]
    assert "No rows were quarantined" not in quality
    detail = md_rows(quality, "step", "quarantine output", "reason", "rows")
    telemetry = {r["reason"]: int(r["rows"]) for r in detail if r["quarantine output"] == "quarantine_telemetry"}
    events = {r["reason"]: int(r["rows"]) for r in detail if r["quarantine output"] == "quarantine_events"}
    assert telemetry == published["quarantined"]
    assert events == published["quarantined_events"]
    assert sum(telemetry.values()) > 0

    iot = parts[QUARANTINE]
    figures = md_facts(iot)
    assert int(figures["telemetry in"]) == published["telemetry_in"]
    assert int(figures["duplicates"]) == published["duplicates"]
    assert int(figures["quarantined (telemetry)"]) == sum(published["quarantined"].values())
    assert "late" not in figures and "windowed records" not in figures  # the window step never ran: not measured
    expected = {**published["quarantined"], **{f"events: {k}": v for k, v in published["quarantined_events"].items()}}
    assert by_reason(iot, "quarantined by reason") == expected
    assert "late records by reason" not in iot
    assert "not measured" in iot


GATES = {  # a failing error check on each step's output
    "window": {"check": "in_range", "output": "windows", "column": "records", "max": 0, "id": "no"},
    "device_uptime": {"check": "in_range", "output": "daily", "column": "uptime", "max": -1, "id": "no"},
}


@pytest.mark.parametrize("gate", list(GATES))
def test_a_gate_stop_after_the_window_step_still_shows_late_records_and_the_balance(
    data: Path, published: dict[str, Any], tmp_path: Path, gate: str
) -> None:
    pipeline = yaml.safe_load(PIPELINE.read_text())
    next(s for s in pipeline["steps"] if s["name"] == gate)["checks"].append(GATES[gate])
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    result = run(data, tmp_path, "gated", pipeline=path)
    assert result.record.steps[gate].status == "blocked"
    iot = sections(result)[QUARANTINE]
    if gate == "device_uptime":  # the reconcile step ran: its findings were measured
        reconciliation = md_facts(iot.split("reconciliation\n", 1)[1])
        assert {k: int(v) for k, v in reconciliation.items()} == {
            "silent devices": published["silent_devices"],
            "events for unknown devices": published["unknown_device_events"],
            "firmware mismatches (windows)": published["firmware_mismatches"],
        }
    else:
        assert "reconciliation" not in iot
    figures = md_facts(iot)
    assert "anomalies found" not in figures  # firmware_adoption did not run
    assert int(figures["late"]) == published["late"]
    assert int(figures["windowed records"]) == published["windowed_records"]
    assert int(figures["duplicates"]) == published["duplicates"]
    assert by_reason(iot, "late records by reason") == {"late": published["late"]}
    equation = (f"telemetry in {published['telemetry_in']} = windowed {published['windowed_records']} + "
                f"late {published['late']} + quarantined {published['quarantined_total']} + "
                f"duplicates {published['duplicates']} = {published['telemetry_in']}: holds")
    assert equation in iot


def test_a_run_that_publishes_lists_the_steps_own_quarantine_in_data_quality(
    data: Path, published: dict[str, Any], tmp_path: Path
) -> None:
    result = run(data, tmp_path, "again")
    assert result.ok
    quality = sections(result)["Data quality"]
    assert "No rows were quarantined" not in quality
    total = sum(int(r["rows quarantined"]) for r in md_table(quality, "reason"))
    assert total == sum(published["quarantined"].values()) + sum(published["quarantined_events"].values())


def _with_models(data: Path, tmp: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    copy = tmp / "data"
    shutil.copytree(data, copy)
    devices = json.loads((copy / "devices.json").read_text())
    models = sorted({d["model"] for d in devices})
    assert len(models) <= len(names)
    renamed = dict(zip(models, names, strict=False))
    for device in devices:
        device["model"] = renamed[device["model"]]
    (copy / "devices.json").write_text(json.dumps(devices))
    return copy, renamed


@pytest.mark.parametrize("first", range(0, len(HOSTILE), 4))
def test_hostile_model_names_keep_every_section_in_markdown_and_html(data: Path, tmp_path: Path, first: int) -> None:
    names = HOSTILE[first : first + 4]
    copy, renamed = _with_models(data, tmp_path, names)
    result = run(copy, tmp_path, "hostile")
    assert result.ok, result.record.error
    assert not result.record.listener_errors
    markdown = (result.run.run_dir / "report.md").read_text()
    parts = md_sections(markdown)
    assert [title for title in parts if title in IOT_SECTIONS] == IOT_SECTIONS
    assert not [title for title in parts if title.startswith("Sections from")]
    # Every name reads back as itself from the adoption table, in Markdown ...
    adoption = md_table(parts["Firmware adoption per day and model"], "day")
    assert {row["model"] for row in adoption} == {*renamed.values(), "ALL"}
    targets = md_table(parts["Firmware adoption per day and model"], "model")
    assert {row["model"] for row in targets} == set(renamed.values())
    # ... with no unescaped character that Markdown, HTML or LaTeX would read.
    for line in parts["Firmware adoption per day and model"].splitlines():
        if line.startswith("|"):
            assert not re.search(r"(?<!\\)(?:\\\\)*[$<>\[\]`*_#~&]", line.replace("\\\\", "")), line
    # ... and in HTML, as text in table cells.
    page = (result.run.run_dir / "report.html").read_text()
    assert "<script>alert" not in page
    assert set(renamed.values()) <= set(Tags(page).text)  # the parser decodes the escaped text
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert [html.unescape(t) for t in titles if html.unescape(t) in IOT_SECTIONS] == IOT_SECTIONS
    # The adoption chart is SVG text that parses whatever the names, each name drawn as itself in the legend.
    (chart,) = (result.run.run_dir / "report-images").glob("*iot-adoption.svg")
    root = ElementTree.fromstring(chart.read_text())
    drawn = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {*renamed.values(), "ALL"} <= drawn
    assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
