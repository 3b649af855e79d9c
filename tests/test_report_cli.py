"""`kernel report`, the summary, the report_sections hook, and replacing the report writer with a
user's own, installed as a distribution."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import kernel_report.plugin
import pytest
from click.testing import CliRunner
from conftest import _pip_target
from helpers import write_pipeline
from kernel_report.build import write_report
from kernel_report.summary import summarize
from report_support import Tags, md_sections, md_table, read_json

from kernel import Kernel, RunResult
from kernel.cli import main

NO_CHARTS = {"plugins": {"settings": {"report": {"charts": False}}}}


@pytest.fixture(scope="session")
def custom_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pip_target(tmp_path_factory.mktemp("site"), "custom_report")


@pytest.fixture
def custom_installed(custom_site: Path, demo_installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The custom report writer and the section plugin are installed beside the demo plugin."""
    monkeypatch.syspath_prepend(str(custom_site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(custom_site), os.environ["PYTHONPATH"]]))
    return custom_site


def kernel_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], capture_output=True, text=True, cwd=cwd,
                          env=os.environ.copy(), check=False)


def demo_run(tmp_path: Path, steps: list[dict[str, object]] | None = None, name: str = "demo",
             **extra: object) -> RunResult:
    demo = importlib.import_module("kernel_demo_steps")
    kernel = Kernel(entry_points=False, plugins=[("demo", demo), ("report", kernel_report.plugin)])
    steps = steps or [{"name": "nums", "uses": "demo.numbers"}, {"name": "twice", "uses": "demo.scale",
                                                                 "needs": ["nums"]}]
    tmp_path.mkdir(exist_ok=True)
    path = write_pipeline(tmp_path, steps, name=name, filename=f"{name}.yaml", **extra)
    return kernel.run(path, runs_root=tmp_path / "runs")


def test_kernel_report_rebuilds_the_same_report_from_the_run_directory(demo_installed: Path, tmp_path: Path) -> None:
    run_dir = demo_run(tmp_path, **NO_CHARTS).run.run_dir
    first = {name: (run_dir / name).read_bytes() for name in ("report.md", "report.html")}
    for name in first:
        (run_dir / name).unlink()
    done = kernel_command("report", str(run_dir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {name: (run_dir / name).read_bytes() for name in first} == first


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "missing", "no such run directory"),
    (lambda tmp: tmp, "not a run directory: it has no run.json"),
])
def test_kernel_report_without_a_run_is_a_one_line_error(tmp_path: Path, make: object, message: str) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    result = CliRunner().invoke(main, ["report", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {target}: {message}\n"


def test_summary_has_a_row_per_run_equal_to_its_files_and_totals(demo_installed: Path, tmp_path: Path) -> None:
    ok = demo_run(tmp_path / "a", name="numbers", **NO_CHARTS)
    failed = demo_run(tmp_path / "b", steps=[{"name": "nums", "uses": "demo.numbers", "settings": {"n": 5}},
                                             {"name": "boom", "uses": "demo.boom", "needs": ["nums"]}],
                      name="broken", **NO_CHARTS)
    runs = [ok.run.run_dir, failed.run.run_dir]

    result = CliRunner().invoke(main, ["report", "--summary", "--out", str(tmp_path / "out"), str(tmp_path)])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert (markdown, (tmp_path / "out" / "summary.html").read_text()) == summarize(runs)

    rows = {row["run id"]: row for row in md_table(md_sections(markdown)["Runs"], "pipeline")}
    for run_dir in runs:
        record = read_json(run_dir / "run.json")
        row = rows[record["run_id"]]
        assert (row["pipeline"], row["status"]) == (record["pipeline"], record["status"])
        assert int(row["steps"]) == len(record["steps"])
        assert abs(float(row["wall time (s)"]) - record["duration_s"]) <= 0.0005
    assert rows[ok.record.run_id]["rows in (final steps)"] == "3"  # twice reads the 3 rows of nums
    assert rows[ok.record.run_id]["rows out (final steps)"] == "3"
    assert rows[failed.record.run_id]["rows out (final steps)"] == "—"  # boom produced nothing: not measured
    assert (rows[ok.record.run_id]["steps failed"], rows[failed.record.run_id]["steps failed"]) == ("0", "1")
    total = rows["2 runs"]
    assert total["status"] == "1 failed, 1 succeeded"
    assert int(total["steps"]) == 4
    assert (total["steps failed"], total["steps blocked"]) == ("1", "0")
    assert int(total["rows out (final steps)"]) == 3


def test_the_summary_of_nothing_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", "--summary", str(tmp_path)])
    assert result.exit_code == 2
    assert "no run directory (no run.json) in this directory" in result.stderr


def test_a_users_report_writer_replaces_the_built_in_one(custom_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "nums", "uses": "demo.numbers"},
                                     {"name": "boom", "uses": "demo.boom", "needs": ["nums"]}])
    done = kernel_command("run", str(path), "-p", "no:report", "--runs-dir", str(tmp_path / "runs"),
                          "--run-id", "r1", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    run_dir = tmp_path / "runs" / "demo" / "r1"
    record = read_json(run_dir / "run.json")
    assert "myreport" in record["plugins"] and "report" not in record["plugins"]
    assert (run_dir / "custom-report.txt").read_text() == "demo failed\nnums: succeeded\nboom: failed\n"
    assert not (run_dir / "report.md").exists() and not (run_dir / "report-context.json").exists()


def test_plugins_add_sections_read_from_the_run_directory(custom_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "nums", "uses": "demo.numbers", "settings": {"n": 4}},
             {"name": "parts", "uses": "demo.split", "needs": ["nums"]},
             {"name": "kpis", "uses": "mysections.kpis", "needs": {"even|<b>": "parts.even", "odd": "parts.odd"}}]
    path = write_pipeline(tmp_path, steps, **NO_CHARTS)
    result = Kernel(disable=["tracker", "validator"]).run(path, runs_root=tmp_path / "runs")
    run_dir = result.run.run_dir
    markdown = (run_dir / "report.md").read_text()
    sections = md_sections(markdown)
    assert list(sections)[:3] == ["Status", "KPIs", "Data quality"]  # the answer first: a plugin's figures
    rows = {row["input"]: int(row["rows"]) for row in md_table(sections["KPIs"], "input")}
    assert rows == read_json(run_dir / "kpis.json") == {"even|<b>": 2, "odd": 2}
    html = (run_dir / "report.html").read_text()
    assert "added by plugin mysections" in html and "even|&lt;b&gt;" in html
    assert f"Measured for run {result.record.run_id}." in sections["KPIs"]

    # A plugin whose section fails is named; the rest of the report is still written.
    (run_dir / "kpis.json").write_text("{broken")
    write_report(run_dir)
    sections = md_sections((run_dir / "report.md").read_text())
    failure = sections["Sections from plugin mysections"]
    assert "Plugin 'mysections' could not add its sections: JSONDecodeError" in failure
    assert "Status" in sections
    assert "<b>" not in "".join(Tags((run_dir / "report.html").read_text()).text).replace("even|<b>", "")


def test_files_of_a_schema_version_the_report_writer_does_not_read_are_refused_or_noted(
    demo_installed: Path, tmp_path: Path
) -> None:
    run_dir = demo_run(tmp_path, **NO_CHARTS).run.run_dir
    record = json.loads((run_dir / "run.json").read_text())
    assert record["schema_version"] == 1 and record["artifacts"]  # the report named itself (Run.add_artifact)
    outputs = json.loads((run_dir / "report-outputs.json").read_text())
    assert outputs["schema_version"] == 1
    (run_dir / "report-outputs.json").write_text(json.dumps({**outputs, "schema_version": 2}))
    assert kernel_command("report", str(run_dir), cwd=tmp_path).returncode == 0
    status = md_sections((run_dir / "report.md").read_text())["Status"]
    assert "report-outputs.json: has schema version 2; version 1 is read here" in status
    (run_dir / "run.json").write_text(json.dumps({**record, "schema_version": 2}))
    result = CliRunner().invoke(main, ["report", str(run_dir)])
    assert result.exit_code == 2
    assert "run.json: has schema version 2; version 1 is read here" in result.stderr
