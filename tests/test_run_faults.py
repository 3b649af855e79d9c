"""Runs disturbed as users disturb them: a results path that is not the kernel's, a second run on the same
results, Ctrl-C and kill, a run id reused. Real subprocesses, real signals."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import write_pipeline

SLOW = [
    {"name": "src", "uses": "demo.numbers", "settings": {"n": "${params.n}"}},
    {"name": "wait", "uses": "demo.wait", "needs": ["src"],
     "settings": {"started": "${params.started}", "release": "${params.release}"}},
    {"name": "publish", "uses": "io.publish", "needs": ["wait"], "settings": {"path": "${params.out}"}},
]
# The listening plugins and the cache are not what these tests are about (each run here must run its steps).
QUIET = {"disable": ["report", "tracker", "validator", "cache"]}
PARAMS = {"n": 3, "out": "gold", "started": "started", "release": "release"}


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "kernel", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def first_line(process: subprocess.Popen[str], seconds: float = 60.0) -> str:
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=seconds)


def until(condition: Callable[[], Any], seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out")


def started(path: Path) -> Callable[[], bool]:
    return lambda: path.exists() and path.read_text() != ""


def record(cwd: Path, run_id: str) -> dict[str, Any]:
    return dict(json.loads((cwd / "runs" / "slow" / run_id / "run.json").read_text()))


def gold_version(gold: Path) -> str:
    marker = json.loads((gold / ".kernel-results.json").read_text())
    assert marker["state"] == "complete" and set(marker["files"]) == {"wait.parquet"}
    return str(marker["run_id"])


def beside(gold: Path) -> set[str]:
    return {p.name for p in gold.parent.iterdir() if p.name.startswith(f".{gold.name}.kernel-")}


@pytest.fixture
def slow(demo_installed: Path, tmp_path: Path) -> Iterator[Path]:
    write_pipeline(tmp_path, SLOW, name="slow", params=PARAMS, plugins=QUIET)
    return tmp_path


def published(cwd: Path, run_id: str) -> None:
    """A first, undisturbed run: the results a disturbed one must keep or replace whole."""
    (cwd / "release").touch()
    done = kernel("run", "pipeline.yaml", "--run-id", run_id, cwd=cwd)
    assert done.returncode == 0, done.stderr
    (cwd / "release").unlink()
    (cwd / "started").unlink()


@pytest.mark.parametrize("out", [".", "data"], ids=["the working directory", "a data directory"])
def test_a_results_path_holding_other_files_is_refused_before_any_step(slow: Path, out: str) -> None:
    (slow / "data").mkdir()
    (slow / "data" / "input.avro").write_bytes(b"precious")
    published(slow, "first")  # the working directory now holds runs/ too
    done = kernel("run", "pipeline.yaml", "--param", f"out={out}", "--run-id", "second", cwd=slow)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "step 'publish': field 'settings.path'" in line
    assert (f"'settings.path': {out} holds the run directory" if out == "." else f"error: {out}: ") in line
    assert (slow / "data" / "input.avro").read_bytes() == b"precious"
    assert gold_version(slow / "gold") == "first"
    assert not (slow / "started").exists() and not (slow / "runs/slow/second").exists()  # no step ran


def test_a_later_failure_keeps_the_previous_results(slow: Path) -> None:
    published(slow, "first")
    steps = [*SLOW[:1], {"name": "publish", "uses": "io.publish", "needs": ["src"], "settings": {"path": "gold"}},
             {"name": "bad", "uses": "demo.boom", "needs": ["src"]}]
    write_pipeline(slow, steps, name="slow", filename="failing.yaml", params={"n": 3}, plugins=QUIET)
    done = kernel("run", "failing.yaml", "--run-id", "second", "--workers", "1", cwd=slow)
    assert done.returncode == 1
    assert record(slow, "second")["steps"]["publish"]["status"] == "succeeded"  # staged, never committed
    assert gold_version(slow / "gold") == "first" and beside(slow / "gold") == set()


def test_what_a_stopped_publish_left_is_recovered_even_by_a_run_that_fails(slow: Path) -> None:
    published(slow, "first")
    (slow / "gold").rename(slow / ".gold.kernel-old-0123abcd")  # killed between the two renames of a swap
    write_pipeline(slow, [{"name": "bad", "uses": "demo.boom"},
                          {"name": "publish", "uses": "io.publish", "needs": ["bad"], "settings": {"path": "gold"}}],
                   name="slow", filename="failing.yaml", plugins=QUIET)
    done = kernel("run", "failing.yaml", "--run-id", "second", cwd=slow)
    assert done.returncode == 1
    assert gold_version(slow / "gold") == "first" and beside(slow / "gold") == set()


def test_a_second_run_on_the_same_results_is_refused_naming_the_holder(slow: Path) -> None:
    first = start("run", "pipeline.yaml", "--run-id", "first", cwd=slow)
    try:
        until(started(slow / "started"))
        done = kernel("run", "pipeline.yaml", "--run-id", "second", "--param", "started=other", cwd=slow)
        assert done.returncode == 2
        (line,) = done.stderr.strip().splitlines()
        assert "in use by run first of pipeline 'slow'" in line and f"pid {first.pid}" in line, line
        assert "--wait" in line
        assert not (slow / "other").exists()  # refused before any step
    finally:
        (slow / "release").touch()
        assert first.wait(60) == 0
    assert gold_version(slow / "gold") == "first"


def test_with_wait_the_second_run_publishes_after_the_first(slow: Path) -> None:
    first = start("run", "pipeline.yaml", "--run-id", "first", cwd=slow)
    until(started(slow / "started"))
    second = start("run", "pipeline.yaml", "--run-id", "second", "--param", "started=other", "--wait", cwd=slow)
    said = first_line(second)  # said once it waits: a slow start-up on a busy machine is not a wait
    assert "waiting for" in said and "in use by run first" in said, said
    assert second.poll() is None and not (slow / "other").exists()  # waiting, no step run yet
    (slow / "release").touch()
    assert first.wait(60) == 0
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert gold_version(slow / "gold") == "second"


def test_the_lock_of_a_killed_run_is_taken_over(slow: Path) -> None:
    published(slow, "first")
    killed = start("run", "pipeline.yaml", "--run-id", "killed", cwd=slow)
    until(started(slow / "started"))
    killed.kill()
    killed.wait(60)
    (slow / "release").touch()
    done = kernel("run", "pipeline.yaml", "--run-id", "next", cwd=slow)
    assert done.returncode == 0, done.stderr
    assert gold_version(slow / "gold") == "next" and beside(slow / "gold") == set()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_run_cleanly(slow: Path, signum: int, code: int) -> None:
    published(slow, "first")
    run = start("run", "pipeline.yaml", "--run-id", "stopped", cwd=slow)
    until(started(slow / "started"))
    run.send_signal(signum)
    _out, err = run.communicate(timeout=60)
    assert run.returncode == code, err
    assert "Traceback" not in err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == f"error: interrupted by {name}"
    written = record(slow, "stopped")
    assert written["status"] == "interrupted" and written["error"] == f"interrupted by {name}"
    assert written["exit_code"] == code
    assert {name: step["status"] for name, step in written["steps"].items()} == {
        "src": "succeeded", "wait": "interrupted", "publish": "skipped"}
    events = [json.loads(x)["event"] for x in (slow / "runs/slow/stopped/log.jsonl").read_text().splitlines()]
    assert events[-1] == "run interrupted"
    assert gold_version(slow / "gold") == "first" and beside(slow / "gold") == set()
    (slow / "release").touch()
    again = kernel("run", "pipeline.yaml", "--run-id", "again", cwd=slow)  # the lock went with the process
    assert again.returncode == 0, again.stderr
    assert gold_version(slow / "gold") == "again"


def test_run_json_shows_the_step_that_is_running(slow: Path) -> None:
    run = start("run", "pipeline.yaml", "--run-id", "live", cwd=slow)
    try:
        until(started(slow / "started"))
        def running() -> dict[str, Any] | None:
            now = record(slow, "live")
            return now if now["steps"].get("wait", {}).get("status") == "running" else None

        live = until(running, 3.0)  # the record is at most about a second stale
        assert live["status"] == "running" and live["pid"] == run.pid
        assert live["steps"]["src"]["status"] == "succeeded" and "publish" not in live["steps"]
    finally:
        (slow / "release").touch()
        assert run.wait(60) == 0
    assert record(slow, "live")["steps"]["publish"]["status"] == "succeeded"


@pytest.mark.parametrize("run_id", ["../x", "/tmp/x", "a/b", "..", "a b"])
def test_a_run_id_is_one_path_component(slow: Path, run_id: str) -> None:
    done = kernel("run", "pipeline.yaml", "--run-id", run_id, cwd=slow)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "run id" in line
    assert not (slow / "runs").exists() and not (slow / "x").exists()


def test_an_existing_run_id_is_refused_and_its_record_kept(slow: Path) -> None:
    published(slow, "first")
    before = (slow / "runs/slow/first/run.json").read_text()
    done = kernel("run", "pipeline.yaml", "--run-id", "first", cwd=slow)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "run id 'first' already exists" in line and "succeeded" in line
    assert (slow / "runs/slow/first/run.json").read_text() == before
    assert not (slow / "started").exists()
