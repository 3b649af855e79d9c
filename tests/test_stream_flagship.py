"""The flagship streamed (``kernel showcase stream iot-windowed-kpi``): its data set's telemetry landing file by
file gives what the batch pipeline over the same files gives (windows, late and quarantined records,
duplicates, anomalies; and from its period steps, the gold tables and every KPI), anomalies are alerted once
each, and a stream killed again and again at random file operations still ends with that sink and gold."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pytest
from fault_support import command
from kernel_stream.stream import Stream, StreamOptions, read_sink

from kernel import Kernel

REPO = Path(__file__).resolve().parent.parent
SHOWCASE = REPO / "showcases" / "007-iot-windowed-kpi"
KEY = ["device_id", "window_start"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """The live data set (written at once: the generator's clock is faked) and the batch run over it."""
    from kernel_iot import gen_live
    from kernel_iot.generate import generate

    root = tmp_path_factory.mktemp("flagship-stream")
    now = [0.0]
    original = gen_live.write_live

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def instant(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **{**kwargs, "clock": lambda: now[0], "sleep": sleep})

    with mock.patch.object(gen_live, "write_live", instant):
        generate(root / "data", devices=12, days=2, seed=4, stream=True, rate=2500)
    result = Kernel(disable=("report", "cache")).run(SHOWCASE / "pipeline.yaml",
                                                     params={"data": str(root / "data"), "gold": str(root / "gold")},
                                                     runs_root=root / "runs", keep_outputs=True)
    assert result.ok, result.record.error
    reference = {}
    for item, (step, output) in {"window.windows": ("window", "windows"), "window.late": ("window", "late"),
                                 "window.quarantine": ("window", "quarantine"),
                                 "conform.quarantine_telemetry": ("conform", "quarantine_telemetry"),
                                 "duplicates": ("conform", "duplicates"),
                                 "anomalies": ("firmware_adoption", "anomalies")}.items():
        path = root / f"reference-{item}.parquet"
        result.outputs[step][output].to_parquet(path, index=False)  # through Parquet, as the sink is
        reference[item] = pd.read_parquet(path)
    reference["gold"] = pd.DataFrame({"path": [str(root / "gold")]})
    return root / "data", reference


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as plain strings: each sink part has its own categories."""
    frame = frame.reset_index(drop=True).copy()
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) or dtype is object:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None).astype("str")
    return frame


def assert_same_as_batch(state: Path, reference: dict[str, pd.DataFrame]) -> None:
    sink = state / "sink"
    pd.testing.assert_frame_equal(plain(read_sink(sink, "window.windows")), plain(reference["window.windows"]))
    for item in ("window.late", "window.quarantine", "conform.quarantine_telemetry"):
        got = read_sink(sink, item)
        if reference[item].empty:  # no part is written for no rows
            assert got.empty, item
            continue
        pd.testing.assert_frame_equal(plain(got), plain(reference[item]), obj=item)
    # A copy is set aside as one run sets it aside: the same (device, seq) and arrival, whichever file it is in.
    copies = read_sink(sink, "unique.duplicates")
    columns = ["device_id", "seq", "ingest_time"]
    assert sorted(map(tuple, plain(copies)[columns].to_numpy().tolist())) == sorted(
        map(tuple, plain(reference["duplicates"])[columns].to_numpy().tolist()))
    # Anomalies come out as their windows close (batch order), one run has them by device: the same rows.
    found = plain(read_sink(sink, "anomalies.anomalies"))
    want = plain(reference["anomalies"])
    pd.testing.assert_frame_equal(found.sort_values(KEY, ignore_index=True), want.sort_values(KEY, ignore_index=True))
    # The period steps over the sink publish the batch pipeline's gold: every table and every KPI.
    gold, batch_gold = state.parent / "gold", Path(reference["gold"]["path"].iloc[0])
    kpis = json.loads((gold / "kpis.json").read_text())
    want_kpis = json.loads((batch_gold / "kpis.json").read_text())
    assert {k: v for k, v in kpis.items() if k != "run_id"} == {k: v for k, v in want_kpis.items() if k != "run_id"}
    tables = sorted(p.name for p in batch_gold.glob("*.parquet"))
    assert sorted(p.name for p in gold.glob("*.parquet")) == tables and len(tables) == 7
    for name in tables:
        got, expected = (plain(pd.read_parquet(d / name)).drop(columns=["run_id"], errors="ignore")
                         for d in (gold, batch_gold))
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=name)
    # Each anomaly is alerted once, with the file it came from, in the order found.
    alerts = [json.loads(line) for line in (state / "alerts.jsonl").read_text().splitlines()]
    assert [(a["alert"]["device_id"], pd.Timestamp(a["event_time"])) for a in alerts] == list(
        zip(found["device_id"], found["window_start"], strict=True))


def test_the_streamed_flagship_gives_the_batch_pipelines_windows_late_records_and_anomalies(
        world: tuple[Path, dict[str, pd.DataFrame]], tmp_path: Path) -> None:
    data, reference = world
    assert len(reference["anomalies"]) >= 3 and len(reference["duplicates"]) and len(reference["window.late"])
    params = {"data": str(data), "gold": str(tmp_path / "gold")}
    stream = Stream(StreamOptions(pipeline=SHOWCASE / "stream.yaml", landing=data / "telemetry",
                                  state=tmp_path / "state", params=params, until_idle=0, clock="data", final=True,
                                  poll=True, merge_parts=3), echo=lambda line: None)
    summary = stream.run()
    files = sorted(p.name for p in (data / "telemetry").glob("live-*.avro"))
    assert summary.files == len(files) >= 8
    telemetry = json.loads((data / "manifest.json").read_text())["live"]["records"]
    assert summary.records == telemetry  # the telemetry's records; the registry and events read beside are not
    assert_same_as_batch(tmp_path / "state", reference)


def test_the_streamed_flagship_killed_again_and_again_ends_with_the_batch_pipelines_sink(
        world: tuple[Path, dict[str, pd.DataFrame]], tmp_path: Path) -> None:
    data, reference = world
    # A copy of the data set: a killed stream moves nothing here, but the landing directory is not shared.
    copy = tmp_path / "data"
    subprocess.run(["cp", "-r", str(data), str(copy)], check=True)
    state = tmp_path / "state"
    run = command("showcase", "stream", "iot-windowed-kpi", "--data", str(copy), "--state", str(state),
                  "--until-idle", "0", "--clock", "data", "--final", "--poll", "--merge-parts", "3",
                  "--param", f"gold={tmp_path / 'gold'}")
    rng = random.Random(16)
    kills = 0
    for _ in range(6):
        # The kill falls on a random file operation of this process (rename, replace, unlink) in the state.
        env = {**os.environ, "FAULT_ROOTS": str(state), "FAULT_KILL_AT": str(rng.randint(1, 60))}
        killed = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
        if killed.returncode == 0:
            break  # it finished before its kill point
        assert killed.returncode == -9, killed.stderr
        kills += 1
    assert kills >= 4
    assert not (tmp_path / "gold").exists()  # the period runs at the end of the stream, not per batch
    finished = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert_same_as_batch(state, reference)
    ledger = [json.loads(line) for line in (state / "ledger.jsonl").read_text().splitlines()]
    done = [e["file"] for e in ledger if e["event"] == "done" and e.get("file")]
    assert done == sorted(p.name for p in (copy / "telemetry").glob("live-*.avro"))  # each file once, in order
