"""A failed step names the file and line of its own code, and run.json and log.jsonl keep its traceback,
under every executor; `--traceback` prints it."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_pipeline

from kernel import Kernel

DEMO = r".*kernel_demo_steps[/\\]__init__\.py:\d+ in "


def demo_kernel() -> Kernel:
    demo, io = importlib.import_module("kernel_demo_steps"), importlib.import_module("kernel_io.plugin")
    return Kernel(entry_points=False, plugins=[("demo", demo), ("io", io)])


@pytest.mark.parametrize("executor", ["inline", "threads", "processes"])
def test_the_failing_line_of_the_steps_own_code_is_named_not_pandas(
    demo_installed: Path, tmp_path: Path, executor: str
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("y\n1\n2\n")
    steps = [
        {"name": "read", "uses": "io.read", "settings": {"path": str(source)}},
        {"name": "scale", "uses": "demo.scale", "needs": ["read"]},  # no column x: pandas raises KeyError
    ]
    result = demo_kernel().run(write_pipeline(tmp_path, steps), runs_root=tmp_path / "runs", executor=executor)
    step = json.loads((result.run.run_dir / "run.json").read_text())["steps"]["scale"]
    assert step["error"] == "KeyError: 'x'"
    assert re.fullmatch(DEMO + "scale", step["error_at"]), step["error_at"]
    assert step["traceback"].startswith("Traceback (most recent call last)")
    assert "pandas" in step["traceback"] and step["traceback"].endswith("KeyError: 'x'")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_console_names_the_line_and_prints_the_traceback_when_asked(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "bad", "uses": "demo.boom", "settings": {"message": "kaput"}}])
    done = cli("run", str(path), "--run-id", "plain", cwd=tmp_path)
    assert done.returncode == 1
    at = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("at ")]
    assert len(at) == 1 and re.fullmatch("at " + DEMO + "boom", at[0]), done.stdout
    assert "Traceback" not in done.stdout
    record = json.loads((tmp_path / "runs/demo/plain/run.json").read_text())
    assert record["steps"]["bad"]["traceback"].endswith("ValueError: kaput")
    logged = [json.loads(line) for line in (tmp_path / "runs/demo/plain/log.jsonl").read_text().splitlines()]
    failed = next(line for line in logged if line["event"] == "step failed")
    assert failed["traceback"] == record["steps"]["bad"]["traceback"] and failed["error_at"] == at[0][3:]

    done = cli("run", str(path), "--run-id", "full", "--traceback", cwd=tmp_path)
    assert "Traceback (most recent call last)" in done.stdout and 'raise ValueError(message)' in done.stdout


def test_bad_input_names_its_file_and_shows_no_code(demo_installed: Path, tmp_path: Path) -> None:
    path = write_pipeline(tmp_path, [{"name": "bad", "uses": "demo.bad_data", "settings": {"file": "x.bin"}}])
    done = cli("run", str(path), "--traceback", cwd=tmp_path)
    assert done.returncode == 2
    assert "x.bin: not a valid file" in done.stdout
    assert " at " not in done.stdout and "Traceback" not in done.stdout
