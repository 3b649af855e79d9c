"""Running a plan: order, concurrency, retries, failures, hooks, signals and the run record."""

from __future__ import annotations

import gc
import json
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import write_pipeline

from kernel import Kernel, Listener, Run, StepContext, StepVerdict, events, hookimpl, load_pipeline, signals, step


@pytest.fixture
def recorded() -> Iterator[list[tuple[str, str, str]]]:
    """Every signal as (signal, step or '', thread name), in the order received."""
    seen: list[tuple[str, str, str]] = []

    def receiver(sender: Run, *, event: object, **_: object) -> None:
        step_spec = getattr(event, "step", None)
        seen.append((type(event).__name__, step_spec.name if step_spec else "", threading.current_thread().name))

    for sig in signals.ALL:
        sig.connect(receiver)
    yield seen
    for sig in signals.ALL:
        sig.disconnect(receiver)


DIAMOND = [
    {"name": "src", "uses": "demo.numbers", "settings": {"n": 6}},
    {"name": "parts", "uses": "demo.split", "needs": ["src"]},
    {"name": "evens", "uses": "demo.scale", "needs": ["parts.even"], "settings": {"factor": 10}},
    {"name": "odds", "uses": "demo.scale", "needs": ["parts.odd"], "settings": {"factor": 100}},
    {"name": "all", "uses": "demo.concat", "needs": {"a": "evens", "b": "odds"}},
]


def run(kernel: Kernel, tmp_path: Path, steps: list[dict[str, Any]], **options: Any) -> Any:
    path = write_pipeline(tmp_path, steps)
    return kernel.run(path, runs_root=tmp_path / "runs", **options)


def test_a_diamond_runs_to_the_right_result(demo_kernel: Kernel, tmp_path: Path) -> None:
    result = run(demo_kernel, tmp_path, DIAMOND)
    assert result.ok and result.exit_code == 0
    assert result.outputs["all"]["out"]["x"].tolist() == [0, 20, 40, 100, 300, 500]
    assert list(result.outputs) == ["all"]  # intermediate outputs are released once consumed


@pytest.mark.parametrize("workers", [1, 3])
def test_signals_come_in_the_same_order_on_every_run(
    demo_kernel: Kernel, tmp_path: Path, recorded: list[tuple[str, str, str]], workers: int
) -> None:
    orders = []
    for _ in range(3):
        recorded.clear()
        assert run(demo_kernel, tmp_path, DIAMOND, workers=workers).ok
        orders.append([(name, s) for name, s, _ in recorded])
        assert {thread for _, _, thread in recorded} == {threading.main_thread().name}
    assert orders[0] == orders[1] == orders[2]
    assert orders[0][0] == ("PipelineStarted", "") and orders[0][-1] == ("PipelineCompleted", "")
    assert [s for name, s in orders[0] if name == "StepCompleted"] == ["src", "parts", "evens", "odds", "all"]


@step("t.sleep")
def sleep(inputs: Any, *, seconds: float = 0.3) -> pd.DataFrame:
    time.sleep(seconds)
    return pd.DataFrame({"t": [threading.current_thread().name]})


class Sleeper:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [sleep]


def test_workers_run_independent_branches_at_once(tmp_path: Path) -> None:
    kernel = Kernel(entry_points=False, plugins=[("t", Sleeper())])
    steps = [{"name": f"s{i}", "uses": "t.sleep", "settings": {"seconds": 0.4}} for i in range(2)]
    start = time.perf_counter()
    result = run(kernel, tmp_path, steps, workers=2)
    elapsed = time.perf_counter() - start
    assert result.ok
    assert elapsed < 0.75, f"two 0.4 s steps with two workers took {elapsed:.2f} s"
    threads = {result.outputs[f"s{i}"]["out"]["t"][0] for i in range(2)}
    assert len(threads) == 2 and all(t.startswith("kernel-step") for t in threads)


def test_a_failing_step_is_retried_with_a_signal_per_retry(
    demo_kernel: Kernel, tmp_path: Path, recorded: list[tuple[str, str, str]]
) -> None:
    retries: list[events.StepRetrying] = []

    def on_retry(sender: Run, *, event: events.StepRetrying, **_: object) -> None:
        retries.append(event)

    steps = [
        {"name": "src", "uses": "demo.numbers"},
        {
            "name": "flaky",
            "uses": "demo.flaky",
            "needs": ["src"],
            "retries": {"attempts": 3, "delay": 0.01},
            "settings": {"counter": str(tmp_path / "calls"), "fail_times": 2},
        },
    ]
    with signals.step_retry.connected_to(on_retry):
        result = run(demo_kernel, tmp_path, steps)
    assert result.ok
    assert [(r.attempt, str(r.error)) for r in retries] == [(1, "flaky failure 1"), (2, "flaky failure 2")]
    assert [r.delay_s for r in retries] == [0.01, 0.02]  # backoff doubles the wait
    assert result.record.steps["flaky"].attempts == 3
    assert result.record.signals["step_retry"] == 2
    assert [n for n, s, _ in recorded if s == "flaky"] == [
        "StepStarted",
        "StepRetrying",
        "StepRetrying",
        "StepCompleted",
    ]


def test_after_the_last_failure_downstream_is_skipped_and_other_branches_finish(
    demo_kernel: Kernel, tmp_path: Path, recorded: list[tuple[str, str, str]]
) -> None:
    steps = [
        {"name": "bad", "uses": "demo.boom", "retries": {"attempts": 1, "delay": 0}},
        {"name": "after_bad", "uses": "demo.scale", "needs": ["bad"]},
        {"name": "after_after", "uses": "demo.scale", "needs": ["after_bad"]},
        {"name": "good", "uses": "demo.numbers"},
        {"name": "after_good", "uses": "demo.scale", "needs": ["good"]},
    ]
    result = run(demo_kernel, tmp_path, steps, workers=2)
    record = result.record
    assert not result.ok and result.exit_code == 1
    assert {n: s.status for n, s in record.steps.items()} == {
        "bad": "failed",
        "after_bad": "skipped",
        "after_after": "skipped",
        "good": "succeeded",
        "after_good": "succeeded",
    }
    assert record.steps["bad"].attempts == 2 and record.steps["bad"].error == "ValueError: boom"
    assert record.steps["after_after"].skipped_because == "upstream step 'bad' did not succeed"
    assert record.error == "step 'bad' failed: ValueError: boom"
    assert ("StepErrored", "bad") in [(n, s) for n, s, _ in recorded]
    assert recorded[-1][0] == "PipelineErrored"


def test_fail_fast_stops_at_the_first_failure(demo_kernel: Kernel, tmp_path: Path) -> None:
    steps = [{"name": "bad", "uses": "demo.boom"}, {"name": "other", "uses": "demo.numbers"}]
    result = run(demo_kernel, tmp_path, steps, fail_fast=True)
    assert result.record.steps["other"].status == "skipped"
    assert result.record.steps["other"].skipped_because == "the run stopped after a failure"
    assert run(demo_kernel, tmp_path, steps).record.steps["other"].status == "succeeded"


def test_bad_input_data_is_not_retried_and_exits_2(demo_kernel: Kernel, tmp_path: Path) -> None:
    steps = [
        {"name": "read", "uses": "demo.bad_data", "retries": 3, "settings": {"file": "data/x.avro"}},
        {"name": "other", "uses": "demo.numbers"},
    ]
    result = run(demo_kernel, tmp_path, steps)
    assert result.exit_code == 2
    assert result.record.steps["read"].attempts == 1
    assert result.record.error == "step 'read': data/x.avro: not a valid file"
    assert result.record.steps["other"].status == "skipped"


def test_a_step_returning_the_wrong_thing_fails_naming_its_plugin(demo_kernel: Kernel, tmp_path: Path) -> None:
    result = run(demo_kernel, tmp_path, [{"name": "w", "uses": "demo.wrong_return"}])
    assert result.record.steps["w"].status == "failed"
    assert "plugin 'demo': step type 'demo.wrong_return' output 'out' is list, not a DataFrame" in (
        result.record.steps["w"].error or ""
    )


def test_a_listener_that_raises_never_breaks_a_run(demo_kernel: Kernel, tmp_path: Path) -> None:
    def broken(sender: Run, **_: object) -> None:
        raise RuntimeError("listener bug")

    with signals.step_complete.connected_to(broken):
        result = run(demo_kernel, tmp_path, DIAMOND)
    assert result.ok
    assert len(result.record.listener_errors) == 5
    assert result.record.listener_errors[0].signal == "step_complete"
    assert result.record.listener_errors[0].error == "RuntimeError: listener bug"
    saved = json.loads((result.run.run_dir / "run.json").read_text())
    assert len(saved["listener_errors"]) == 5


class Judge:
    """An after_step_run plugin: drops negative rows of 'src' and blocks 'gate' outright."""

    @hookimpl
    def after_step_run(self, step: Any, outputs: dict[str, pd.DataFrame]) -> StepVerdict | None:
        if step.name == "src":
            return StepVerdict(replace={"out": outputs["out"][outputs["out"]["x"] >= 2]})
        if step.name == "gate":
            return StepVerdict(blocked_because="check 'x_positive' failed on 3 rows")
        return None


def test_after_step_run_replaces_outputs_and_blocks_steps(demo_installed: Path, tmp_path: Path) -> None:
    import kernel_demo_steps

    kernel = Kernel(entry_points=False, plugins=[("demo", kernel_demo_steps), ("judge", Judge())])
    steps = [
        {"name": "src", "uses": "demo.numbers", "settings": {"n": 5}},
        {"name": "copy", "uses": "demo.scale", "needs": ["src"], "settings": {"factor": 1}},
        {"name": "gate", "uses": "demo.scale", "needs": ["src"]},
        {"name": "gold", "uses": "demo.scale", "needs": ["gate"]},
    ]
    result = run(kernel, tmp_path, steps, keep_outputs=True)
    assert result.outputs["copy"]["out"]["x"].tolist() == [2, 3, 4]
    assert result.record.steps["src"].rows_out == {"out": 3}
    assert result.record.steps["gate"].status == "blocked"
    assert result.record.steps["gold"].status == "skipped"
    assert "gold" not in result.outputs
    assert result.record.error == "step 'gate' blocked: check 'x_positive' failed on 3 rows"


def test_a_plugin_connects_listeners_for_one_run_only(demo_installed: Path, tmp_path: Path) -> None:
    import kernel_demo_steps

    seen: list[tuple[str, str]] = []

    class Counter:
        @hookimpl
        def connect_listeners(self, run: Run) -> list[Listener]:
            def done(sender: Run, *, event: events.StepCompleted, **_: object) -> None:
                seen.append((sender.run_id, event.step.name))

            return [Listener(signals.step_complete, done)]

    kernel = Kernel(entry_points=False, plugins=[("demo", kernel_demo_steps), ("counter", Counter())])
    first = run(kernel, tmp_path, DIAMOND[:2])
    second = run(kernel, tmp_path, DIAMOND[:2])
    assert seen == [
        (first.run.run_id, "src"),
        (first.run.run_id, "parts"),
        (second.run.run_id, "src"),
        (second.run.run_id, "parts"),
    ]
    assert not signals.step_complete.receivers  # nothing stays connected after a run


def test_plugin_listeners_come_first_in_hook_order(demo_installed: Path, tmp_path: Path) -> None:
    import kernel_demo_steps

    calls: list[str] = []

    def listening(label: str) -> object:
        class Plugin:
            @hookimpl
            def connect_listeners(self, run: Run) -> list[Listener]:
                return [Listener(signals.step_complete, lambda sender, **_: calls.append(label))]

        return Plugin()

    def direct(sender: Run, **_: object) -> None:
        calls.append("connected")

    plugins = [("demo", kernel_demo_steps), ("first", listening("first")), ("second", listening("second"))]
    kernel = Kernel(entry_points=False, plugins=plugins)
    with signals.step_complete.connected_to(direct):
        assert run(kernel, tmp_path, DIAMOND[:2]).ok
    # pluggy calls the last registered plugin's hook first; the kernel keeps that order
    assert calls == ["second", "first", "connected"] * 2


def test_the_run_record_matches_what_happened(
    demo_kernel: Kernel, tmp_path: Path, recorded: list[tuple[str, str, str]]
) -> None:
    result = run(demo_kernel, tmp_path, DIAMOND, run_id="r1")
    run_dir = tmp_path / "runs" / "demo" / "r1"
    assert result.run.run_dir == run_dir
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["status"] == "succeeded" and saved["exit_code"] == 0 and saved["run_id"] == "r1"
    assert saved["steps"]["parts"]["rows_in"] == {"src": 6}
    assert saved["steps"]["parts"]["rows_out"] == {"even": 3, "odd": 3}
    assert all(s["attempts"] == 1 and s["duration_s"] > 0 for s in saved["steps"].values())
    counts: dict[str, int] = {}
    for name, _, _ in recorded:
        key = {
            "PipelineStarted": "pipeline_start",
            "StepStarted": "step_start",
            "StepCompleted": "step_complete",
            "PipelineCompleted": "pipeline_complete",
        }[name]
        counts[key] = counts.get(key, 0) + 1
    assert (
        saved["signals"] == counts == {"pipeline_start": 1, "step_start": 5, "step_complete": 5, "pipeline_complete": 1}
    )
    assert saved["duration_s"] >= sum(s["duration_s"] for s in saved["steps"].values())
    starts = [s["start_s"] for s in saved["steps"].values()]  # one worker: steps start one after another
    assert starts[0] >= 0 and starts == sorted(starts)
    assert all(s["start_s"] + s["duration_s"] <= saved["duration_s"] for s in saved["steps"].values())


def test_a_run_leaves_the_garbage_collector_as_it_found_it(demo_kernel: Kernel, tmp_path: Path) -> None:
    # The runner keeps the objects older than the run out of the collector's passes while it runs.
    assert gc.get_freeze_count() == 0
    assert run(demo_kernel, tmp_path, DIAMOND).ok
    assert gc.get_freeze_count() == 0
    gc.freeze()  # a process that froze its heap itself (before forking, say) keeps it frozen
    try:
        assert run(demo_kernel, tmp_path, DIAMOND).ok
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_step_may_ask_for_its_run_context(tmp_path: Path) -> None:
    @step("t.whoami")
    def whoami(inputs: Any, *, ctx: StepContext) -> pd.DataFrame:
        return pd.DataFrame({"run": [ctx.run_id], "step": [ctx.step], "dir": [str(ctx.run_dir)]})

    class Plugin:
        @hookimpl
        def register_steps(self) -> list[object]:
            return [whoami]

    kernel = Kernel(entry_points=False, plugins=[("t", Plugin())])
    result = run(kernel, tmp_path, [{"name": "me", "uses": "t.whoami"}], run_id="abc")
    assert result.outputs["me"]["out"].iloc[0].tolist() == ["abc", "me", str(tmp_path / "runs" / "demo" / "abc")]


def test_run_values_fill_step_settings(demo_kernel: Kernel, tmp_path: Path) -> None:
    steps = [{"name": "n", "uses": "demo.flaky", "needs": [], "settings": {"counter": "${run.dir}/c", "fail_times": 0}}]
    path = write_pipeline(tmp_path, [{"name": "src", "uses": "demo.numbers"}, {**steps[0], "needs": ["src"]}])
    result = demo_kernel.run(load_pipeline(path), run_id="x", runs_root=tmp_path / "runs")
    assert result.ok
    assert (tmp_path / "runs" / "demo" / "x" / "c").read_text() == "1"


def test_the_last_signal_carries_a_copy_of_the_run_as_run_json_says_it(demo_installed: Path, tmp_path: Path) -> None:
    import kernel_demo_steps

    from kernel.record import RunRecord

    given: list[dict[str, Any]] = []
    written: list[bytes] = []

    def closing(sender: Run, *, event: events.PipelineCompleted, **_: object) -> None:
        written.append((sender.run_dir / "run.json").read_bytes())
        given.append(event.record.to_json())
        event.record.steps["src"].rows_out["out"] = -1  # a receiver that writes into what it was given
        event.record.listener_errors.clear()

    class Finisher:
        @hookimpl
        def connect_listeners(self, run: Run) -> list[Listener]:
            return [Listener(signals.pipeline_complete, closing)]

    kernel = Kernel(entry_points=False, plugins=[("demo", kernel_demo_steps), ("finisher", Finisher())])
    result = run(kernel, tmp_path, DIAMOND[:2])
    (record,) = given
    assert record == json.loads(written[0])  # as written before the signal, read the kernel's way
    assert RunRecord.read(result.run.run_dir).steps["src"].rows_out["out"] == 6  # the kernel's own is untouched
    assert result.record.steps["src"].rows_out["out"] == 6


def test_after_run_sees_the_complete_run_json_and_its_errors_are_recorded(demo_installed: Path, tmp_path: Path) -> None:
    import kernel_demo_steps

    seen: list[dict[str, Any]] = []

    def closing(sender: Run, **_: object) -> None:
        raise ValueError("could not write my file")

    class Finisher:
        @hookimpl
        def connect_listeners(self, run: Run) -> list[Listener]:
            return [Listener(signals.pipeline_complete, closing)]

        @hookimpl
        def after_run(self, run: Run) -> None:
            seen.append(json.loads((run.run_dir / "run.json").read_text()))
            raise RuntimeError("report failed")

    kernel = Kernel(entry_points=False, plugins=[("demo", kernel_demo_steps), ("finisher", Finisher())])
    result = run(kernel, tmp_path, DIAMOND[:2])
    assert result.ok
    assert seen[0]["status"] == "succeeded"
    assert seen[0]["signals"]["pipeline_complete"] == 1
    closing_error = {
        "signal": "pipeline_complete",
        "receiver": closing.__qualname__,
        "error": "ValueError: could not write my file",
    }
    assert seen[0]["listener_errors"] == [closing_error]  # what the last signal's receivers did is in it too
    saved = json.loads((result.run.run_dir / "run.json").read_text())
    assert saved["listener_errors"] == [
        closing_error,
        {"signal": "after_run", "receiver": "finisher.after_run", "error": "RuntimeError: report failed"},
    ]


def test_run_json_carries_its_schema_version_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    from kernel import RUN_SCHEMA_VERSION, RunRecord

    record = RunRecord(run_id="r", pipeline="p", run_dir=str(tmp_path), params={}, workers=1)
    data = record.to_json()
    assert data["schema_version"] == RUN_SCHEMA_VERSION
    assert RunRecord.from_json(dict(data)).run_id == "r"
    with pytest.raises(ValueError, match=r"run\.json has schema version 99; this kernel reads 1"):
        RunRecord.from_json({**data, "schema_version": 99})


def test_outputs_given_for_a_step_stand_for_it_and_it_is_not_run(demo_kernel: Kernel, tmp_path: Path) -> None:
    # One batch of a stream: the source's frame comes from the caller; the rest of the plan runs on it.
    batch = pd.DataFrame({"x": [7, 8, 9]})
    result = run(demo_kernel, tmp_path, DIAMOND, given={"src": {"out": batch}})
    assert result.ok
    assert result.outputs["all"]["out"]["x"].tolist() == [80, 700, 900]
    src = result.record.steps["src"]
    assert (src.status, src.attempts, src.rows_out) == ("succeeded", 0, {"out": 3})


def test_given_outputs_of_a_step_with_inputs_stand_for_it_and_what_is_above_it(
    demo_kernel: Kernel, tmp_path: Path
) -> None:
    # The steps after a stream's batches: what the batches gathered is given for the step that made it.
    parts = {"even": pd.DataFrame({"x": [2, 4]}), "odd": pd.DataFrame({"x": [1]})}
    result = run(demo_kernel, tmp_path, DIAMOND, given={"parts": parts}, only=["evens", "odds", "all"])
    assert result.ok, result.record.error
    assert result.outputs["all"]["out"]["x"].tolist() == [20, 40, 100]
    steps = result.record.steps
    assert steps["src"].status == "not selected" and steps["parts"].attempts == 0


@pytest.mark.parametrize(("given", "message"), [
    ({"nope": {"out": pd.DataFrame()}}, "outputs are given for step 'nope', which the pipeline does not have"),
    ({"src": {"other": pd.DataFrame()}}, "other"),
])
def test_given_outputs_that_cannot_stand_for_a_step_are_refused_before_anything_runs(
    demo_kernel: Kernel, tmp_path: Path, given: dict[str, dict[str, pd.DataFrame]], message: str
) -> None:
    from kernel import KernelError

    with pytest.raises(KernelError, match=message):
        run(demo_kernel, tmp_path, DIAMOND, given=given)
    assert not (tmp_path / "runs").exists()


def test_an_output_is_dropped_when_its_last_reader_is_done_while_its_siblings_are_still_read(
    tmp_path: Path,
) -> None:
    # A large output read once and a small one read last: the large one must not live as long as the small.
    made: list[Any] = []
    alive_when_last_ran: list[bool] = []

    @step("rel.both", outputs=("large", "small"))
    def both(inputs: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        large = pd.DataFrame({"x": range(1000)})
        made.append(weakref.ref(large))
        return {"large": large, "small": pd.DataFrame({"y": [1]})}

    @step("rel.count", inputs=("frame",))
    def count(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
        return pd.DataFrame({"rows": [len(inputs["frame"])]})

    @step("rel.last", inputs=("small", "after"))
    def last(inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
        gc.collect()
        alive_when_last_ran.append(made[0]() is not None)
        return inputs["small"]

    class Steps:
        @hookimpl
        def register_steps(self) -> list[Any]:
            return [both, count, last]

    kernel = Kernel(entry_points=False, plugins=[("rel", Steps())])
    steps = [
        {"name": "both", "uses": "rel.both"},
        {"name": "count", "uses": "rel.count", "needs": {"frame": "both.large"}},
        {"name": "last", "uses": "rel.last", "needs": {"small": "both.small", "after": "count"}},
    ]
    result = run(kernel, tmp_path, steps)
    assert result.ok, result.record.error
    assert alive_when_last_ran == [False]
    assert result.outputs["last"]["out"]["y"].tolist() == [1]
