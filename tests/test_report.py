"""The report writer keeps the report honest: its figures are those of the run's files."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path
from typing import Any

import kernel_report.plugin
import pytest
from helpers import write_pipeline
from kernel_report.build import build_report, write_report
from report_support import (
    VALIDATION,
    FakeTracker,
    FakeValidator,
    md_facts,
    md_sections,
    md_table,
    pairs,
    read_json,
)

from kernel import Kernel, PipelineError, RunResult, signals
from kernel.events import StepCompleted
from kernel.graph import to_mermaid

NO_CHARTS = {"plugins": {"settings": {"report": {"charts": False}}}}


def branching_steps(counter: Path) -> list[dict[str, Any]]:
    """Five steps succeed (one after a retry), one fails, one is skipped."""
    return [
        {"name": "nums", "uses": "demo.numbers", "settings": {"n": 6}},
        {"name": "split", "uses": "demo.split", "needs": ["nums"]},
        {"name": "scaled", "uses": "demo.scale", "needs": {"frame": "split.even"}},
        {"name": "flaky", "uses": "demo.flaky", "needs": {"frame": "split.odd"},
         "settings": {"counter": str(counter)}, "retries": {"attempts": 1, "delay": 0}},
        {"name": "both", "uses": "demo.concat", "needs": {"a": "scaled", "b": "flaky"}},
        {"name": "boom", "uses": "demo.boom", "needs": ["both"]},
        {"name": "after", "uses": "demo.scale", "needs": {"frame": "boom"}},
    ]


def make_kernel(*extra: tuple[str, object]) -> Kernel:
    demo = importlib.import_module("kernel_demo_steps")
    return Kernel(entry_points=False, plugins=[("demo", demo), ("report", kernel_report.plugin), *extra])


def run(kernel: Kernel, path: Path, tmp_path: Path) -> RunResult:
    return kernel.run(path, runs_root=tmp_path / "runs")


@pytest.fixture
def full_run(demo_installed: Path, tmp_path: Path) -> tuple[RunResult, FakeTracker]:
    tracker = FakeTracker()
    kernel = make_kernel(("tracker", tracker), ("validator", FakeValidator()))
    path = write_pipeline(tmp_path, branching_steps(tmp_path / "counter"), **NO_CHARTS)
    return run(kernel, path, tmp_path), tracker


def test_execution_metrics_equal_the_run_record(full_run: tuple[RunResult, Any]) -> None:
    result, _ = full_run
    run_dir = result.run.run_dir
    record = read_json(run_dir / "run.json")
    section = md_sections((run_dir / "report.md").read_text())["Execution metrics"]
    facts = md_facts(section)

    statuses = Counter(s["status"] for s in record["steps"].values())
    assert {k[len("steps "):]: int(v) for k, v in facts.items() if k.startswith("steps ") and k[6:] in statuses} \
        == dict(statuses)
    assert int(facts["steps in the run record"]) == len(record["steps"])
    assert abs(float(facts["wall time (s)"]) - record["duration_s"]) <= 0.0005
    assert facts["plugins that took part"] == ", ".join(record["plugins"])
    assert "steps reused from the cache" not in facts  # no cache took part: the figure is absent, not zero
    sent = {row["signal"]: int(row["sent"]) for row in md_table(section, "signal")}
    assert sent == record["signals"]
    assert sent["step_retry"] == 1


def test_the_step_table_equals_the_run_record(full_run: tuple[RunResult, Any]) -> None:
    result, _ = full_run
    record = read_json(result.run.run_dir / "run.json")
    rows = md_table(md_sections((result.run.run_dir / "report.md").read_text())["Steps"], "step")
    assert [r["step"] for r in rows] == list(record["steps"])
    for row in rows:
        step = record["steps"][row["step"]]
        assert row["status"] == step["status"]
        assert int(row["attempts"]) == step["attempts"]
        assert pairs(row["rows in"]) == step["rows_in"]
        assert pairs(row["rows out"]) == step["rows_out"]
        if step["duration_s"] is None:
            assert row["time (s)"] == "—"
        else:
            assert abs(float(row["time (s)"]) - step["duration_s"]) <= 0.0005
    skipped = next(r for r in rows if r["step"] == "after")
    assert skipped["error or reason"] == record["steps"]["after"]["skipped_because"]


def test_the_validators_section_lists_every_check_and_the_rows_they_quarantined(
    full_run: tuple[RunResult, Any],
) -> None:
    result, _ = full_run
    text = (result.run.run_dir / "report.md").read_text()
    section = md_sections(text)["Checks"]
    assert "added by plugin validator" in (result.run.run_dir / "report.html").read_text()
    checks = md_table(section, "check id")
    assert [(c["check id"], c["result"], int(c["rows failed"])) for c in checks] == [
        (c["id"], "passed" if c["passed"] else "failed", c["rows_failed"]) for c in VALIDATION["checks"]
    ]
    facts = md_facts(section)
    assert int(facts["checks run"]) == len(VALIDATION["checks"])
    assert int(facts["checks failed"]) == sum(not c["passed"] for c in VALIDATION["checks"])
    rows = md_table(section, "step")
    quarantined = [(r["step"], r["check id"], r["reason"], int(r["rows quarantined"])) for r in rows]
    assert quarantined == [(q["step"], q["check_id"], q["reason"], q["rows"]) for q in VALIDATION["quarantine"]]
    # The report writer's own section points there rather than claiming nothing was quarantined.
    quality = md_sections(text)["Data quality"]
    assert "Rows the validator's checks quarantined are in its section" in quality
    assert "No rows were quarantined" not in text


def test_the_trackers_section_shows_its_schema_changes_and_snapshots(full_run: tuple[RunResult, Any]) -> None:
    result, _ = full_run
    tracker = read_json(result.run.run_dir / "tracker.json")
    section = md_sections((result.run.run_dir / "report.md").read_text())["Schema changes"]
    changes = {(r["step"], r["output"]): r["added"] for r in md_table(section, "step")}
    expected = {(step, out): "y: int64" for step, info in tracker["steps"].items() for out in info["schema_diff"]}
    assert changes == expected
    assert int(md_facts(section)["snapshots"]) == tracker["snapshot_count"]


def test_files_other_listeners_write_at_the_end_are_in_the_report(demo_installed: Path, tmp_path: Path) -> None:
    tracker = FakeTracker()
    kernel = make_kernel(("tracker", tracker))
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}], **NO_CHARTS)
    for _ in range(3):
        result = run(kernel, path, tmp_path)
        facts = md_facts(md_sections((result.run.run_dir / "report.md").read_text())["Schema changes"])
        assert int(facts["snapshots"]) == read_json(result.run.run_dir / "tracker.json")["snapshot_count"]


def test_a_plugin_that_did_not_take_part_is_named_and_shows_no_figures(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}], **NO_CHARTS)
    result = run(make_kernel(), path, tmp_path)
    sections = md_sections((result.run.run_dir / "report.md").read_text())
    assert not {"Checks", "Schema changes"} & set(sections)  # no section of a plugin that was not there
    assert md_facts(sections["Execution metrics"])["plugins that took part"] == "demo, report"
    assert sections["Data quality"].strip() == "No step put rows in a quarantine output."  # no table: no figure


def test_a_plugin_that_took_part_without_writing_its_file_is_not_guessed(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}], **NO_CHARTS)

    class Silent:  # takes part, writes nothing, yet adds the validator's section
        report_sections = staticmethod(FakeValidator.report_sections.__get__(FakeValidator()))

    result = run(make_kernel(("validator", Silent())), path, tmp_path)
    section = md_sections((result.run.run_dir / "report.md").read_text())["Checks"]
    assert section.strip() == "validation.json: is absent: the run did not write it"


def test_report_context_holds_the_pipeline_and_the_plan(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, branching_steps(tmp_path / "c"), description="Numbers", domain="tests",
                          archetype="diamond-ish", kpis=["total"], **NO_CHARTS)
    kernel = make_kernel()
    result = run(kernel, path, tmp_path)
    context = read_json(result.run.run_dir / "report-context.json")
    plan = result.run.plan
    assert context["mermaid"] == to_mermaid(plan)
    assert context["topology"] == plan.topology
    assert context["schema_version"] == 1
    # The graph itself is run.json's: every step with what it reads.
    record = read_json(result.run.run_dir / "run.json")
    assert list(record["steps"]) == list(plan.steps)
    needs = {name: step["needs"] for name, step in record["steps"].items()}
    planned_needs = {n: {k: f"{p}.{o}" for k, (p, o) in ps.inputs.items()} for n, ps in plan.steps.items()}
    assert needs == planned_needs
    assert list(needs.values())[3] == {"frame": "split.odd"}
    assert (context["description"], context["domain"], context["archetype"]) == ("Numbers", "tests", "diamond-ish")
    architecture = md_facts(md_sections((result.run.run_dir / "report.md").read_text())["Architecture"])
    assert architecture["topology"] == plan.topology
    assert int(architecture["steps"]) == len(plan.steps)


def test_charts_are_images_in_the_html_and_files_beside_the_markdown(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"},
                                     {"name": "twice", "uses": "demo.scale", "needs": ["nums"]}])
    result = run(make_kernel(), path, tmp_path)
    run_dir = result.run.run_dir
    html = (run_dir / "report.html").read_text()
    names = sorted(p.name for p in (run_dir / "report-images").iterdir())
    assert names == ["dag.svg", "step-durations.svg", "step-rows.svg"]
    assert html.count('src="data:image/svg+xml;base64,') == 3
    markdown = (run_dir / "report.md").read_text()
    assert all(f"(report-images/{name})" in markdown for name in names)
    assert '<pre class="mermaid">flowchart LR' in html
    charts = {name: (run_dir / "report-images" / name).read_bytes() for name in names}
    write_report(run_dir)  # the same data draws the same bytes: a rebuilt report is identical
    assert (run_dir / "report.html").read_text() == html
    assert {name: (run_dir / "report-images" / name).read_bytes() for name in names} == charts


def test_settings_choose_formats_and_charts(demo_installed: Path, tmp_path: Path) -> None:
    settings = {"plugins": {"settings": {"report": {"formats": ["md"], "charts": False}}}}
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}], **settings)
    run_dir = run(make_kernel(), path, tmp_path).run.run_dir
    assert (run_dir / "report.md").is_file()
    assert not (run_dir / "report.html").exists()
    assert not (run_dir / "report-images").exists()


@pytest.mark.parametrize(("settings", "message"), [
    ({"formats": ["pdf"]}, "plugins.settings.report.formats.0: Input should be 'md' or 'html'"),
    ({"colour": "blue"}, "plugins.settings.report.colour: unknown setting"),
    ({"formats": []}, "plugins.settings.report.formats"),
])
def test_bad_settings_fail_before_the_run(demo_installed: Path, tmp_path: Path, settings: dict[str, Any],
                                          message: str) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}],
                          plugins={"settings": {"report": settings}})
    with pytest.raises(PipelineError, match="plugin 'report': " + message.replace(".", r"\.").replace("(", r"\(")):
        run(make_kernel(), path, tmp_path)
    assert not (tmp_path / "runs").exists()


def test_disabled_in_the_pipeline_file_the_report_writer_writes_nothing(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"}], plugins={"disable": ["report"]})
    result = run(make_kernel(), path, tmp_path)
    assert result.ok
    assert sorted(p.name for p in result.run.run_dir.iterdir()) == ["run.json"]


def test_a_user_listener_sees_the_events_while_the_report_is_written(demo_installed: Path, tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, int]]] = []

    def on_step_complete(sender: object, *, event: StepCompleted, **extra: object) -> None:
        seen.append((event.step.name, dict(event.rows)))

    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers", "settings": {"n": 4}},
                                     {"name": "parts", "uses": "demo.split", "needs": ["nums"]}], **NO_CHARTS)
    with signals.step_complete.connected_to(on_step_complete):
        result = run(make_kernel(), path, tmp_path)
    assert seen == [("nums", {"out": 4}), ("parts", {"even": 2, "odd": 2})]
    assert (result.run.run_dir / "report.md").is_file()
    assert result.record.listener_errors == []


def test_rebuilding_from_the_run_directory_gives_the_same_report(full_run: tuple[RunResult, Any]) -> None:
    run_dir = full_run[0].run.run_dir
    first = (run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()
    write_report(run_dir)
    assert ((run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()) == first


def test_a_missing_run_json_is_an_error_naming_the_directory(tmp_path: Path) -> None:
    from kernel import KernelError

    with pytest.raises(KernelError, match=r"not a run directory: it has no run\.json"):
        build_report(tmp_path)
    with pytest.raises(KernelError, match="no such run directory"):
        build_report(tmp_path / "nope")


def test_an_unreadable_plugin_file_is_reported_not_guessed(full_run: tuple[RunResult, Any]) -> None:
    run_dir = full_run[0].run.run_dir
    (run_dir / "tracker.json").write_text("{not json")
    markdown = build_report(run_dir).markdown()
    sections = md_sections(markdown)
    assert sections["Schema changes"].strip().startswith("tracker.json: could not be read:")
    assert "|" not in sections["Schema changes"]



def test_the_doc_names_every_section_figure_setting_and_hook_parameter(full_run: tuple[RunResult, Any]) -> None:
    import inspect

    from kernel_report import hookspecs
    from kernel_report.settings import ReportSettings

    doc = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text()
    sections = md_sections((full_run[0].run.run_dir / "report.md").read_text())
    for title in sections:
        assert f"### {title}" in doc, f"docs/report.md has no section on {title!r}"
    for figure in md_facts(sections["Execution metrics"]):
        label = "steps STATUS" if figure.removeprefix("steps ") in ("succeeded", "failed", "skipped") else figure
        assert label.split(" (")[0] in doc, f"docs/report.md does not say where {figure!r} comes from"
    for name in ReportSettings.model_fields:
        assert f"{name}:" in doc
    for parameter in inspect.signature(hookspecs.report_sections).parameters:
        assert f"`{parameter}`" in doc


def test_a_parameter_left_unset_shows_a_dash_not_null(demo_installed: Path, tmp_path: Path) -> None:
    params = {"n": {"default": 3}, "note": {"default": None}}
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers", "settings": {"n": "${params.n}"}}],
                          params=params, **NO_CHARTS)
    result = run(make_kernel(), path, tmp_path)
    section = md_sections((result.run.run_dir / "report.md").read_text())["Business context"]
    assert {row["parameter"]: row["value"] for row in md_table(section, "parameter")} == {"n": "3", "note": "—"}
