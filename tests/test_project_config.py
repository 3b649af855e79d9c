"""Project configuration (kernel.toml, or [tool.kernel] in pyproject.toml): defaults for every command,
found beside the pipeline file or above it; the command line wins, and a pipeline file's own executor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpers import write_pipeline

STEPS = [{"name": "n", "uses": "demo.numbers"}, {"name": "s", "uses": "demo.scale", "needs": ["n"]}]


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def record(runs: Path, run_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((runs / "demo" / run_id / "run.json").read_text())
    return data


def test_kernel_toml_beside_the_pipeline_sets_the_defaults_and_the_command_line_wins(
    demo_installed: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "kernel.toml").write_text(
        'workers = 2\nexecutor = "threads"\nruns_dir = "out/runs"\nlog_level = "warning"\ndisable = ["window"]\n'
    )
    path = write_pipeline(project, STEPS)
    done = kernel("run", str(path), "--run-id", "a", cwd=tmp_path)  # run from elsewhere: the file's own config
    assert done.returncode == 0, done.stderr
    first = record(project / "out" / "runs", "a")
    assert (first["workers"], first["executor"]) == (2, "threads")
    assert "window" not in first["plugins"] and "io" in first["plugins"]  # type: ignore[operator]
    log = (project / "out" / "runs" / "demo" / "a" / "log.jsonl").read_text()
    assert "run started" not in log  # an info line, below the configured warning level
    again = kernel("run", str(path), "--run-id", "b", "--workers", "1", "-x", "inline", "--runs-dir", "mine",
                   "--log-level", "info", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = record(tmp_path / "mine", "b")
    assert (second["workers"], second["executor"]) == (1, "inline")
    assert "run started" in (tmp_path / "mine" / "demo" / "b" / "log.jsonl").read_text()


def test_tool_kernel_in_a_pyproject_above_applies_and_a_nearer_kernel_toml_wins(
    demo_installed: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n\n[tool.kernel]\nworkers = 3\n')
    deep = tmp_path / "pipelines" / "daily"
    deep.mkdir(parents=True)
    path = write_pipeline(deep, STEPS)
    done = kernel("run", str(path), "--run-id", "a", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert record(tmp_path / "runs", "a")["workers"] == 3
    (deep.parent / "kernel.toml").write_text("workers = 2\n")
    done = kernel("run", str(path), "--run-id", "b", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert record(tmp_path / "runs", "b")["workers"] == 2


def test_the_pipeline_files_own_executor_wins_over_the_projects(demo_installed: Path, tmp_path: Path) -> None:
    (tmp_path / "kernel.toml").write_text('executor = "threads"\nworkers = 2\n')
    path = write_pipeline(tmp_path, STEPS, executor="inline")
    done = kernel("run", str(path), "--run-id", "a", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert record(tmp_path / "runs", "a")["executor"] == "inline"


def test_a_configuration_that_cannot_be_is_one_line_naming_the_file_and_the_setting(
    demo_installed: Path, tmp_path: Path
) -> None:
    path = write_pipeline(tmp_path, STEPS)
    for content, field, says in [
        ("[tool.kernel]\nworkers = 0\n", "tool.kernel.workers", "greater than or equal to 1"),
        ("[tool.kernel]\nworker = 2\n", "tool.kernel.worker", "did you mean 'workers'?"),
    ]:
        (tmp_path / "pyproject.toml").write_text(content)
        done = kernel("run", str(path), cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1
        assert done.stderr.startswith(f"error: {tmp_path / 'pyproject.toml'}: field '{field}': ")
        assert says in done.stderr
    assert not (tmp_path / "runs").exists()


def test_commands_without_a_run_take_the_projects_disabled_plugins(demo_installed: Path, tmp_path: Path) -> None:
    (tmp_path / "kernel.toml").write_text('disable = ["window"]\n')
    listed = kernel("steps", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "demo.numbers" in listed.stdout and "window.tumbling" not in listed.stdout


def test_without_a_configuration_every_setting_is_its_default(tmp_path: Path) -> None:
    from kernel.project import ProjectConfig, _found, find_config

    _found.cache_clear()
    found = find_config(tmp_path / "pipeline.yaml")
    assert found == ProjectConfig() and found.model_fields_set == set()
    assert found.model_dump() == {"disable": (), "runs_dir": None, "executor": None, "workers": None, "address": None,
                                  "log_level": None}
