"""What the command line shows while a run goes: on a terminal, the steps running at the moment with their
time so far, each finished step printed above them; ``--quiet`` only failures and the end."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline
from rich.console import Console

from kernel import Kernel, RunResult, StepContext, hookimpl, step
from kernel.cli import _console


@step("slow.wait")
def wait(inputs: Any, *, seconds: float = 0.8) -> pd.DataFrame:
    time.sleep(seconds)
    return pd.DataFrame({"x": [1]})


@step("slow.count")
def count(inputs: Any, *, ctx: StepContext | None = None) -> pd.DataFrame:
    """Read 3,000 records in three goes, saying so after each."""
    for done in (1000, 2000, 3000):
        time.sleep(0.35)
        if ctx is not None:
            ctx.progress(done, 3000)
    return pd.DataFrame({"x": range(3000)})


class Slow:
    @hookimpl
    def register_steps(self) -> list[Any]:
        return [wait, count]


def on_a_terminal(tmp_path: Path, name: str, uses: str) -> tuple[RunResult, str]:
    """Run one step under the live console drawing on a terminal; the run and what the terminal got."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160, color_system=None)
    path = write_pipeline(tmp_path, [{"name": name, "uses": uses}])
    with _console("demo", live=console):
        result = Kernel(entry_points=False, plugins=[("slow", Slow())]).run(path, runs_root=tmp_path / "runs")
    return result, screen.getvalue()


def test_a_terminal_shows_the_running_step_with_its_time_then_its_line(tmp_path: Path) -> None:
    result, shown = on_a_terminal(tmp_path, "sleepy", "slow.wait")
    assert result.ok
    assert "running sleepy 0." in shown  # refreshed while the step ran, with its seconds so far
    assert "ok      sleepy" in shown


def test_quiet_prints_failures_and_the_end_not_every_step(demo_installed: Path, tmp_path: Path) -> None:
    steps = [{"name": "n", "uses": "demo.numbers"}, {"name": "bad", "uses": "demo.boom", "needs": ["n"]}]
    done = subprocess.run([sys.executable, "-m", "kernel", "run", str(write_pipeline(tmp_path, steps)), "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "ok      n" not in done.stdout
    assert "failed  bad" in done.stdout and "run failed" in done.stdout
    failed = next(line for line in done.stdout.splitlines() if "failed  bad" in line)
    assert failed.endswith(" s  ValueError: boom")  # the exception is named, not only its words


def test_a_step_that_says_how_far_it_has_come_shows_it_with_its_rate(tmp_path: Path) -> None:
    result, shown = on_a_terminal(tmp_path, "reader", "slow.count")
    assert result.ok
    assert result.run.progress["reader"] == (3000, 3000, "records")
    assert "running reader" in shown and " of 3,000 records, " in shown and "/s)" in shown


def test_progress_from_a_step_in_another_process_is_dropped_not_an_error(tmp_path: Path) -> None:
    from kernel.steps import StepContext as Context

    reported: list[int] = []
    ctx = Context("r", "reader", tmp_path, reporter=lambda step, done, total, unit: reported.append(done))
    ctx.progress(5)
    shipped = pickle.loads(pickle.dumps(ctx))  # as a process or Dask executor ships it
    shipped.progress(7)
    assert reported == [5] and shipped.reporter is None and shipped.step == "reader"


def test_off_a_terminal_a_line_says_now_and_then_which_steps_are_running(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write_pipeline(tmp_path, [{"name": "reader", "uses": "slow.count"}])
    with _console("demo", every=0.3):
        result = Kernel(entry_points=False, plugins=[("slow", Slow())]).run(path, runs_root=tmp_path / "runs")
    assert result.ok
    lines = capsys.readouterr().out.splitlines()
    running = [line for line in lines if line.startswith("  running reader ")]
    assert running, lines  # the step ran about a second: a line every 0.3 s
    assert any(" records, " in line and "/s)" in line for line in running[1:])
    assert lines[-1].startswith("  ok      reader")  # and none once it has ended
