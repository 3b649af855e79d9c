"""Quarantine a step writes itself, counts a step reports, and the outputs of a step the gate stopped:
the report shows every figure the run measured, and only those."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kernel_report.plugin
import kernel_validator.plugin
import pandas as pd
import pytest
from helpers import write_pipeline
from kernel_report.build import write_report
from report_support import md_facts, md_rows, md_sections, md_table, read_json

from kernel import Inputs, Kernel, Outputs, PipelineError, RunResult, hookimpl, step

DETAIL = ("step", "quarantine output", "reason", "rows")
COUNTS = ("step", "status", "output", "figure", "value")
REASONS = ["bad_x"] * 3 + [None] + ["too_old"] * 2  # one quarantined row has no reason


@step("qt.split", outputs=("kept", "quarantine_rows", "rejects", "late", "counts"))
def split(inputs: Inputs) -> Outputs:
    """Keep 5 rows; put 6 in quarantine (with a reason), 2 in rejects, 1 in late; count them."""
    quarantined = pd.DataFrame({"x": range(len(REASONS)), "reason": pd.Series(REASONS, dtype="str")})
    return {
        "kept": pd.DataFrame({"x": [1, 2, 3, 4, 5]}),
        "quarantine_rows": quarantined,
        "rejects": pd.DataFrame({"x": [98, 99]}),  # no reason column
        "late": pd.DataFrame({"x": [7], "reason": ["late"]}),
        "counts": pd.DataFrame({"rows_in": [14], "kept": [5], "label": ["not a number"]}),
    }


@step("qt.sum", inputs=("frame",), outputs=("out", "counts"))
def total(inputs: Inputs) -> Outputs:
    """Sum x, and count the rows summed."""
    frame = inputs["frame"]
    return {"out": pd.DataFrame({"x": [int(frame["x"].sum())]}), "counts": pd.DataFrame({"summed": [len(frame)]})}


class Steps:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [split, total]


def pipeline(tmp_path: Path, *, block: bool, declare: list[str] | None = None) -> Path:
    checks: list[dict[str, Any]] = [{"check": "not_null", "output": "kept", "columns": ["x"]}]
    if block:
        checks.append({"check": "in_range", "output": "kept", "column": "x", "max": 2, "id": "x at most 2"})
    steps = [
        {"name": "split", "uses": "qt.split", "checks": checks},
        {"name": "sum", "uses": "qt.sum", "needs": {"frame": "split.kept"}},
    ]
    declared = declare if declare is not None else ["split.rejects"]
    settings = {"report": {"charts": False, "quarantine_outputs": declared}}
    return write_pipeline(tmp_path, steps, plugins={"settings": settings})


def run(tmp_path: Path, path: Path, *, validator_first: bool = False) -> RunResult:
    plugins: list[tuple[str, object]] = [("steps", Steps()), ("report", kernel_report.plugin)]
    validator = ("validator", kernel_validator.plugin)
    plugins = [validator, *plugins] if validator_first else [*plugins, validator]
    return Kernel(entry_points=False, plugins=plugins).run(path, runs_root=tmp_path / "runs")


def quality(result: RunResult) -> str:
    return md_sections((result.run.run_dir / "report.md").read_text())["Data quality"]


def test_quarantine_a_step_wrote_itself_is_counted_by_reason(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=False))
    assert result.ok
    section = quality(result)
    assert "No rows were quarantined" not in section
    summary = {r["reason"]: int(r["rows quarantined"]) for r in md_table(section, "reason")}
    # quarantine_rows by convention, rejects as declared; late is not quarantine.
    assert summary == {"bad_x": 3, "too_old": 2, "—": 1 + 2}
    rows = md_rows(section, *DETAIL)
    assert {r["step"] for r in rows} == {"split"}
    detail = {(r["quarantine output"], r["reason"]): int(r["rows"]) for r in rows}
    assert detail == {("quarantine_rows", "bad_x"): 3, ("quarantine_rows", "too_old"): 2,
                      ("quarantine_rows", "—"): 1, ("rejects", "—"): 2}


def test_a_gate_stop_keeps_every_figure_the_stopped_step_measured(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=True))
    record = read_json(result.run.run_dir / "run.json")
    assert record["steps"]["split"]["status"] == "blocked"
    assert record["steps"]["sum"]["status"] == "skipped"
    section = quality(result)
    summary = {r["reason"]: int(r["rows quarantined"]) for r in md_table(section, "reason")}
    assert summary == {"bad_x": 3, "too_old": 2, "—": 3}
    # The step's own counts, and its other outputs' rows by reason (late records), are shown ...
    counts = {(r["step"], r["status"], r["output"], r["figure"]): r["value"] for r in md_rows(section, *COUNTS)}
    assert counts == {("split", "blocked", "counts", "rows_in"): "14", ("split", "blocked", "counts", "kept"): "5"}
    by_reason = md_rows(section, "step", "output", "reason", "rows")
    assert [(r["step"], r["output"], r["reason"], r["rows"]) for r in by_reason] == [("split", "late", "late", "1")]
    # ... and the rows of every output the gate held back.
    held_back = md_rows(section, "step", "output", "rows held back")
    held = {(r["step"], r["output"]): int(r["rows held back"]) for r in held_back}
    assert held == {("split", "kept"): 5, ("split", "quarantine_rows"): 6, ("split", "rejects"): 2,
                    ("split", "late"): 1, ("split", "counts"): 1}
    # The skipped step measured nothing: no row of it, rather than zeros.
    assert "summed" not in section


@pytest.mark.parametrize("validator_first", [False, True])
def test_the_stopped_steps_outputs_are_seen_whatever_the_plugin_order(tmp_path: Path, validator_first: bool) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=True), validator_first=validator_first)
    outputs = read_json(result.run.run_dir / "report-outputs.json")
    split_step = outputs["steps"]["split"]
    assert split_step["status"] == "blocked"
    assert split_step["outputs"]["quarantine_rows"]["rows"] == 6
    assert "sum" not in outputs["steps"]


def test_figures_of_a_completed_step_are_counted_after_the_validator_judged(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=False))
    outputs = read_json(result.run.run_dir / "report-outputs.json")
    assert outputs["steps"]["sum"] == {
        "status": "succeeded",
        "outputs": {"counts": {"rows": 1, "counts": {"summed": 5}}},
    }
    facts = md_rows(quality(result), *COUNTS)
    assert {"step": "sum", "status": "succeeded", "output": "counts", "figure": "summed", "value": "5"} in facts


def test_the_rebuilt_report_is_the_same(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=True))
    run_dir = result.run.run_dir
    before = (run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()
    write_report(run_dir)
    assert ((run_dir / "report.md").read_text(), (run_dir / "report.html").read_text()) == before


def test_without_the_outputs_file_the_figures_are_absent_and_the_report_says_so(tmp_path: Path) -> None:
    result = run(tmp_path, pipeline(tmp_path, block=True))
    run_dir = result.run.run_dir
    (run_dir / "report-outputs.json").unlink()
    write_report(run_dir)
    section = md_sections((run_dir / "report.md").read_text())["Data quality"]
    assert "report-outputs.json" in section
    assert "bad_x" not in section and "No rows were quarantined" not in section
    assert "| split |" in md_sections((run_dir / "report.md").read_text())["Status"]
    assert md_facts(md_sections((run_dir / "report.md").read_text())["Status"])["status"] == "failed"


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (["nosuch.rejects"], "plugins.settings.report.quarantine_outputs.0: no step 'nosuch'"),
        (["split.nosuch"], "plugins.settings.report.quarantine_outputs.0: step 'split' has no output 'nosuch'"),
        (["split"], "plugins.settings.report.quarantine_outputs.0: expected 'step.output', got 'split'"),
    ],
)
def test_a_wrong_quarantine_declaration_is_refused_before_the_run(
    tmp_path: Path, declared: list[str], message: str
) -> None:
    with pytest.raises(PipelineError) as caught:
        run(tmp_path, pipeline(tmp_path, block=False, declare=declared))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "runs").exists()


@step("qt.pass", inputs=("late",), outputs=("late",))
def pass_along(inputs: Inputs, *, drop: int = 0) -> Outputs:
    """The late rows as given (less ``drop`` of them)."""
    return {"late": inputs["late"].iloc[drop:]}


class PassAlong:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [split, pass_along]


def test_an_output_that_passes_along_its_inputs_rows_says_so(tmp_path: Path) -> None:
    steps = [
        {"name": "split", "uses": "qt.split"},
        {"name": "gold", "uses": "qt.pass", "needs": {"late": "split.late"}},
        {"name": "fewer", "uses": "qt.pass", "needs": {"late": "split.late"}, "settings": {"drop": 1}},
    ]
    path = write_pipeline(tmp_path, steps, plugins={"settings": {"report": {"charts": False}}})
    result = Kernel(entry_points=False, plugins=[("steps", PassAlong()), ("report", kernel_report.plugin)]).run(
        path, runs_root=tmp_path / "runs")
    assert result.ok, result.record.error
    rows = md_rows(quality(result), "step", "output", "reason", "rows")
    shown = {(r["step"], r["output"]) for r in rows}
    assert ("split", "late") in shown and ("gold", "late (as split.late)") in shown
    assert not {s for s in shown if s[0] == "fewer"}  # no rows left: nothing by reason, nothing passed along
