"""``kernel stream``: files landing one by one give what one batch run over all of them gives, each file
counts once whatever stops the stream, and a file that fails is set aside with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fault_support import command
from kernel_stream.stream import Stream, StreamOptions, alert_signal, read_sink
from stream_support import cut, land, readings, write_pipeline

from kernel import Kernel, KernelError

SINK = ("window.windows", "window.late", "window.quarantine", "unique.duplicates", "hot.out")


def batch_run(tmp_path: Path, pipeline: Path, records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One run over every record, through Parquet as the sink is (the reference)."""
    whole = tmp_path / "whole.csv"
    records.to_csv(whole, index=False)
    result = Kernel(disable=("report", "cache")).run(pipeline, params={"file": str(whole),
                                                                       "state_dir": str(tmp_path / "batch-state"),
                                                                       "results": str(tmp_path / "batch-results")},
                                                     runs_root=tmp_path / "batch-runs", keep_outputs=True)
    assert result.ok, result.record.error
    found = {}
    for item in SINK:
        step, output = item.split(".")
        path = tmp_path / f"reference-{item}.parquet"
        result.outputs[step][output].to_parquet(path, index=False)
        found[item] = pd.read_parquet(path)
    return found


def assert_same(sink: Path, reference: dict[str, pd.DataFrame]) -> None:
    windows = read_sink(sink, "window.windows")
    pd.testing.assert_frame_equal(windows, reference["window.windows"], check_categorical=False)
    alerts = [json.loads(line) for line in (sink.parent / "alerts.jsonl").read_text().splitlines()]
    hot = reference["hot.out"]
    assert [(a["alert"]["device_id"], pd.Timestamp(a["event_time"])) for a in alerts] == list(
        zip(hot["device_id"], hot["window_start"], strict=True))
    assert [a["alert"]["total"] for a in alerts] == pytest.approx(hot["total"].tolist())
    for item in ("window.late", "window.quarantine", "unique.duplicates"):  # the same rows, in batch order
        got = read_sink(sink, item)
        want = reference[item]
        if want.empty:
            assert got.empty
            continue
        if item == "unique.duplicates":  # the reason says when a copy's first came in an earlier file
            assert set(got.pop("reason")) <= {"duplicate of (seq)", "duplicate of (seq), let through by an earlier run"}
            want = want.drop(columns=["reason"])
        pd.testing.assert_frame_equal(got.sort_values("seq", ignore_index=True),
                                      want.sort_values("seq", ignore_index=True))


def stream(tmp_path: Path, pipeline: Path, **options: Any) -> Stream:
    values: dict[str, Any] = {"until_idle": 0, "clock": "data", "final": True, "poll": True, "merge_parts": 2,
                              "params": {"results": str(tmp_path / "results")}, **options}
    return Stream(StreamOptions(pipeline=pipeline, landing=tmp_path / "landing", state=tmp_path / "state",
                                **values), echo=lambda line: None)


@pytest.mark.parametrize("seed", [1, 2])
def test_files_landed_one_by_one_give_what_one_run_over_all_of_them_gives(tmp_path: Path, seed: int) -> None:
    pipeline = write_pipeline(tmp_path)
    records = readings(500, seed)
    reference = batch_run(tmp_path, pipeline, records)
    files = cut(records, 9, seed)
    land(tmp_path / "landing", files)
    seen: list[Any] = []

    def on_alert(sender: object, *, event: Any, **_: object) -> None:
        seen.append(event)

    with alert_signal.connected_to(on_alert):
        summary = stream(tmp_path, pipeline).run()
    assert (summary.files, summary.records, summary.rejected) == (9, len(records), 0)
    assert summary.alerts == len(reference["hot.out"]) == len(seen) > 0
    assert {e.file for e in seen} <= {f"readings-{i:04d}.csv" for i in range(9)} | {None}
    assert_same(tmp_path / "state" / "sink", reference)
    assert summary.rows["window.windows"] == len(reference["window.windows"])
    # Nothing is processed twice: a second stream over the same landing directory finds nothing new.
    again = stream(tmp_path, pipeline).run()
    assert (again.files, again.batches) == (0, 0)
    ledger = [json.loads(line) for line in (tmp_path / "state" / "ledger.jsonl").read_text().splitlines()]
    assert [e["file"] for e in ledger if e["event"] == "done" and e["file"]] == [f"readings-{i:04d}.csv"
                                                                                   for i in range(9)]
    assert sum(e.get("alerts", 0) for e in ledger if e["event"] == "done") == summary.alerts
    report = json.loads((tmp_path / "state" / "report.json").read_text())
    assert (report["files"], report["records"], report["alerts"], report["rejected"]) == (
        9, len(records), summary.alerts, [])
    assert report["rows"]["window.windows"] == len(reference["window.windows"]) and report["ended"]
    assert report["latency_s"]["p50"] is not None and "| files | 9 |" in (tmp_path / "state" / "report.md").read_text()
    # The period steps ran once at the end, over the whole sink: the batch run's answer.
    assert [e["ok"] for e in ledger if e["event"] == "period"] == [True]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "results" / "per_device.csv"),
                                  pd.read_csv(tmp_path / "batch-results" / "per_device.csv"))


def test_files_that_come_while_the_stream_waits_are_taken_as_they_land(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    records = readings(300, 5)
    reference = batch_run(tmp_path, pipeline, records)
    files = cut(records, 5, 5)
    (tmp_path / "landing").mkdir()
    runner = stream(tmp_path, pipeline, until_idle=3.0, poll=False)

    def writer() -> None:
        for i, frame in enumerate(files):
            time.sleep(0.3)
            land(tmp_path / "landing", [frame], start=i)

    thread = threading.Thread(target=writer)
    thread.start()
    summary = runner.run()
    thread.join()
    assert summary.files == 5
    assert runner.landing.watching == "inotify"
    assert_same(tmp_path / "state" / "sink", reference)
    assert len(summary.latencies) == 5 and all(0 <= s < 10 for s in summary.latencies)


def test_a_file_that_fails_is_set_aside_with_its_reason_and_the_stream_goes_on(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    records = readings(200, 3)
    files = cut(records, 4, 3)
    broken = files[2].drop(columns=["ingest_time"])  # a file without the arrival column
    land(tmp_path / "landing", [files[0], files[1], broken, files[3]])
    summary = stream(tmp_path, pipeline).run()
    assert (summary.files, summary.rejected) == (3, 1)
    rejected = tmp_path / "landing" / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == ["readings-0002.csv", "readings-0002.csv.reason"]
    reason = (rejected / "readings-0002.csv.reason").read_text()
    assert "step 'unique'" in reason and "no column 'ingest_time'" in reason
    assert len(reason.splitlines()) == 1
    report = json.loads((tmp_path / "state" / "report.json").read_text())
    assert [r["file"] for r in report["rejected"]] == ["readings-0002.csv"] and report["files"] == 3
    kept = pd.concat([files[0], files[1], files[3]], ignore_index=True)
    assert_same(tmp_path / "state" / "sink", batch_run(tmp_path, pipeline, kept))


def test_a_restart_removes_only_what_a_killed_stream_left_half_written(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    land(tmp_path / "landing", cut(readings(60, 8), 2, 8))
    half = [tmp_path / "landing" / "rejected" / ".readings-0009.csv.reason.k1ll3d.tmp",
            tmp_path / "state" / "sink" / "window.windows" / ".part-00000007.parquet.k1ll3d.tmp",
            tmp_path / "state" / ".report.md.k1ll3d.tmp"]
    mine = tmp_path / "landing" / "rejected" / "notes.txt"  # not the stream's: never touched
    for path in [*half, mine]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    stream(tmp_path, pipeline).run()
    assert [p.exists() for p in half] == [False, False, False] and mine.read_text() == "x"


def test_a_stream_ended_with_final_takes_no_more_files(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    files = cut(readings(100, 4), 2, 4)
    land(tmp_path / "landing", files[:1])
    stream(tmp_path, pipeline).run()
    assert stream(tmp_path, pipeline).run().batches == 0  # ended, and nothing new: nothing to do
    land(tmp_path / "landing", files[1:], start=1)
    with pytest.raises(KernelError, match="was ended"):
        stream(tmp_path, pipeline).run()


def test_the_period_steps_run_on_demand_from_the_command_line(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    records = readings(200, 6)
    batch_run(tmp_path, pipeline, records)
    land(tmp_path / "landing", cut(records, 3, 6))
    args = [sys.executable, "-m", "kernel", "stream", str(pipeline), "--landing", str(tmp_path / "landing"),
            "--state", str(tmp_path / "state"), "--param", f"results={tmp_path / 'results'}", "--clock", "data"]
    streamed = subprocess.run([*args, "--until-idle", "0", "--final", "--poll"], capture_output=True, text=True,
                              timeout=120)
    assert streamed.returncode == 0, streamed.stderr
    assert "stream: 3 file(s) in 4 batch(es)" in streamed.stdout
    (tmp_path / "results" / "per_device.csv").unlink()
    again = subprocess.run([*args, "--period"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "stream: period steps done" in again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "results" / "per_device.csv"),
                                  pd.read_csv(tmp_path / "batch-results" / "per_device.csv"))


def test_a_period_step_must_find_its_inputs_in_the_sink(tmp_path: Path) -> None:
    from stream_support import PIPELINE

    stream_section = {**PIPELINE["stream"], "sink": ["window.late", "window.quarantine"], "alerts": None}
    pipeline = write_pipeline(tmp_path, stream=stream_section)
    with pytest.raises(KernelError, match=r"period step 'per_device' needs 'window\.windows', which is not in"):
        stream(tmp_path, pipeline)


def test_a_pipeline_without_a_stream_section_is_refused(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path, stream=None)
    with pytest.raises(KernelError, match="has no 'stream:' section"):
        stream(tmp_path, pipeline)


def test_a_source_output_that_the_step_does_not_have_is_refused(tmp_path: Path) -> None:
    from stream_support import PIPELINE

    pipeline = write_pipeline(tmp_path, stream={**PIPELINE["stream"], "source": "read.rows"})
    with pytest.raises(KernelError, match="stream: step 'read' has no output 'rows'"):
        stream(tmp_path, pipeline)


def test_a_showcase_without_a_streamed_form_is_refused_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kernel.cli import main

    result = CliRunner().invoke(main, ["showcase", "stream", "account-history", "--data", str(tmp_path),
                                       "--state", str(tmp_path / "state")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: showcase 'account-history' has no streamed form"


# -- kills ----------------------------------------------------------------------------------------------


def _stream_command(tmp_path: Path, pipeline: Path) -> list[str]:
    return command("stream", str(pipeline), "--landing", str(tmp_path / "landing"), "--state",
                   str(tmp_path / "state"), "--until-idle", "0", "--clock", "data", "--final", "--poll",
                   "--merge-parts", "2",
                   "--param", f"results={tmp_path / 'results'}")


def test_killed_at_any_file_operation_and_restarted_every_file_counts_once(tmp_path: Path) -> None:
    pipeline = write_pipeline(tmp_path)
    records = readings(240, 7)
    reference = batch_run(tmp_path, pipeline, records)
    files = cut(records, 4, 7)
    # How many file operations a whole stream makes: the points a kill can fall on.
    probe = tmp_path / "probe"
    probe.mkdir()
    land(probe / "landing", files)
    log = tmp_path / "points.log"
    env = {**os.environ, "FAULT_ROOTS": str(probe / "state"), "FAULT_LOG": str(log)}
    done = subprocess.run(_stream_command(probe, pipeline), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    points = len(log.read_text().splitlines())
    assert points > 20
    # Kill at points spread over the whole stream, then run it again to the end, without faults.
    # (Every point: python benchmarks/stream_faults.py; here six, from the first batch to the final one.)
    for kill_at in sorted({2, points // 4, points // 2, 3 * points // 4, points - 5, points - 1}):
        world = tmp_path / f"kill-{kill_at}"
        world.mkdir()
        land(world / "landing", files)
        env = {**os.environ, "FAULT_ROOTS": str(world / "state"), "FAULT_KILL_AT": str(kill_at)}
        killed = subprocess.run(_stream_command(world, pipeline), env=env, capture_output=True, text=True,
                                timeout=120)
        assert killed.returncode == -9, (kill_at, killed.stderr)
        again = subprocess.run(_stream_command(world, pipeline), capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, (kill_at, again.stderr)
        assert_same(world / "state" / "sink", reference)
        ledger = [json.loads(line) for line in (world / "state" / "ledger.jsonl").read_text().splitlines()]
        finished = [e["file"] for e in ledger if e["event"] == "done" and e.get("file")]
        assert finished == [f"readings-{i:04d}.csv" for i in range(4)], (kill_at, finished)
