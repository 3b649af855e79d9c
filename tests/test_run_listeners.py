"""Listeners see the run and cannot change it: read-only views of frames, inputs and counts; each one timed;
one that raises ``SystemExit`` or ``KeyboardInterrupt`` ends the run as Ctrl-C does, never half-way."""

from __future__ import annotations

import errno
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import Kernel, Run, RunResult, events, signals

STEPS = [
    {"name": "src", "uses": "demo.numbers", "settings": {"n": 4}},
    {"name": "scaled", "uses": "demo.scale", "needs": ["src"], "settings": {"factor": 10}},
    {"name": "publish", "uses": "io.publish", "needs": ["scaled"], "settings": {"path": "${params.gold}"}},
]


@pytest.fixture
def kernel(demo_installed: Path) -> Kernel:
    import importlib

    from kernel_io import plugin as io_plugin

    return Kernel(entry_points=False, plugins=[("demo", importlib.import_module("kernel_demo_steps")),
                                                ("io", io_plugin)])


@pytest.fixture
def connect() -> Iterator[Callable[[signals.NamedSignal, Callable[..., Any]], None]]:
    connected: list[tuple[signals.NamedSignal, Callable[..., Any]]] = []

    def add(signal: signals.NamedSignal, receiver: Callable[..., Any]) -> None:
        signal.connect(receiver)
        connected.append((signal, receiver))

    yield add
    for signal, receiver in connected:
        signal.disconnect(receiver)


def run(kernel: Kernel, tmp_path: Path, run_id: str = "r") -> RunResult:
    path = write_pipeline(tmp_path, STEPS, params={"gold": {"default": str(tmp_path / "gold")}})
    return kernel.run(path, runs_root=tmp_path / "runs", run_id=run_id, keep_outputs=True)


def gold(tmp_path: Path) -> list[float]:
    return [float(x) for x in pd.read_parquet(tmp_path / "gold" / "scaled.parquet")["x"]]


def written(result: RunResult) -> dict[str, Any]:
    return dict(json.loads((result.run.run_dir / "run.json").read_text()))


def test_a_listener_writing_into_an_output_frame_changes_nothing(
    kernel: Kernel, tmp_path: Path, connect: Callable[..., None]
) -> None:
    def vandal(sender: Run, *, event: events.StepCompleted, **_: Any) -> None:
        for frame in event.outputs.values():
            frame.loc[:, "x"] = -1  # in place, as a careless listener would
            frame["y"] = 1

    connect(signals.step_complete, vandal)
    result = run(kernel, tmp_path)
    assert result.ok and result.record.listener_errors == []
    assert gold(tmp_path) == [0.0, 10.0, 20.0, 30.0]
    assert list(result.outputs["src"]["out"].columns) == ["x"]


def test_a_listener_editing_a_steps_inputs_changes_nothing(
    kernel: Kernel, tmp_path: Path, connect: Callable[..., None]
) -> None:
    def vandal(sender: Run, *, event: events.StepStarted, **_: Any) -> None:
        if event.inputs:
            (frame,) = event.inputs.values()
            frame.iloc[0, 0] = 1000
            event.inputs["src"] = pd.DataFrame({"x": [5]})  # type: ignore[index]

    connect(signals.step_start, vandal)
    result = run(kernel, tmp_path)
    assert result.ok
    assert gold(tmp_path) == [0.0, 10.0, 20.0, 30.0]
    # The frame write went into the listener's own view; the mapping refused the new entry.
    assert [e.error.split(":")[0] for e in result.record.listener_errors] == ["TypeError", "TypeError"]


def test_a_listener_editing_the_row_counts_changes_nothing(
    kernel: Kernel, tmp_path: Path, connect: Callable[..., None]
) -> None:
    def vandal(sender: Run, *, event: events.StepCompleted, **_: Any) -> None:
        event.rows["out"] = 999  # type: ignore[index]

    connect(signals.step_complete, vandal)
    result = run(kernel, tmp_path)
    assert written(result)["steps"]["src"]["rows_out"] == {"out": 4}
    assert len(result.record.listener_errors) == 3  # one refusal per step


def test_each_listener_is_timed_in_the_run_record(kernel: Kernel, tmp_path: Path, connect: Callable[..., None]) -> None:
    def slow_listener(sender: Run, **_: Any) -> None:
        time.sleep(0.05)

    connect(signals.step_complete, slow_listener)
    result = run(kernel, tmp_path)
    timed = {name: t for name, t in written(result)["listeners"].items() if name.endswith("slow_listener")}
    ((_, timing),) = timed.items()
    assert timing["calls"] == 3 and timing["seconds"] >= 0.15


@pytest.mark.parametrize("raised", [KeyboardInterrupt(), SystemExit(3)], ids=["KeyboardInterrupt", "SystemExit"])
def test_a_listener_that_raises_an_interrupt_ends_the_run_cleanly(
    kernel: Kernel, tmp_path: Path, connect: Callable[..., None], raised: BaseException
) -> None:
    run(kernel, tmp_path, "first")

    def stopper(sender: Run, *, event: events.StepCompleted, **_: Any) -> None:
        if event.step.name == "publish":
            raise raised

    ended: list[str] = []
    connect(signals.step_complete, stopper)
    connect(signals.pipeline_error, lambda sender, *, event, **_: ended.append(event.error))
    with pytest.raises(type(raised)):
        run(kernel, tmp_path, "second")
    record = json.loads((tmp_path / "runs/demo/second/run.json").read_text())
    assert record["status"] == "interrupted" and record["exit_code"] == 130
    assert ended == [record["error"]]
    assert record["staged"][0]["status"] == "discarded"
    marker = json.loads((tmp_path / "gold" / ".kernel-results.json").read_text())
    assert marker["run_id"] == "first"  # the staged results never replaced the first run's
    assert not [p for p in tmp_path.iterdir() if ".kernel-stage-" in p.name]


class FullDisk(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failing_listener_on_a_full_disk_still_ends_the_run(
    kernel: Kernel, tmp_path: Path, connect: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import kernel.logs as logs

    monkeypatch.setattr(logs.os, "fdopen", lambda fd, mode: (os.close(fd), FullDisk())[1])
    log = logs.configure_run_log(tmp_path / "log.jsonl")
    try:
        connect(signals.step_complete, lambda sender, **_: 1 / 0)
        result = run(kernel, tmp_path)
    finally:
        log.close()
        logs.configure_quiet()
    assert result.ok and written(result)["status"] == "succeeded"
    assert len(result.record.listener_errors) == 3  # recorded in run.json, though not in the log
    assert log.lost_lines >= 3 and log.error == "OSError: [Errno 28] No space left on device"


def test_a_plugin_declares_a_signal_of_its_own_and_listeners_connect_to_it() -> None:
    from kernel import signals as kernel_signals

    alert = kernel_signals.declare("test_alert", "an alert of a test plugin", owner="tests")
    assert kernel_signals.declare("test_alert", "again", owner="tests") is alert
    assert kernel_signals.declared()["test_alert"] == "tests"
    seen: list[object] = []

    def receiver(sender: object, **extra: object) -> None:
        seen.append(extra["event"])

    with alert.connected_to(receiver):
        alert.send("sender", event="boom")
    assert seen == ["boom"]
    with pytest.raises(ValueError, match="signal 'test_alert' is plugin 'tests''s, not 'other''s"):
        kernel_signals.declare("test_alert", "", owner="other")
    with pytest.raises(ValueError, match="one of the kernel's own"):
        kernel_signals.declare("step_complete", "", owner="tests")
