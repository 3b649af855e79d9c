"""The flagship showcase end to end, driven as a user drives it: generate, run, read gold and report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

DAYS = 2


def kernel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernel", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("iot")
    done = kernel(
        "showcase",
        "data",
        "iot-windowed-kpi",
        "--out",
        "data",
        "--devices",
        "20",
        "--days",
        str(DAYS),
        "--seed",
        "3",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture(scope="module")
def good_run(workdir: Path) -> subprocess.CompletedProcess[str]:
    done = kernel(
        "showcase",
        "run",
        "iot-windowed-kpi",
        "--data",
        "data",
        "--param",
        f"refresh={DAYS}d",
        "--run-id",
        "good",
        cwd=workdir,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_the_run_publishes_gold_and_says_where(workdir: Path, good_run: subprocess.CompletedProcess[str]) -> None:
    gold = workdir / "gold/iot-windowed-kpi"
    assert f"results: {Path('gold/iot-windowed-kpi')}" in good_run.stdout
    assert "report (md): runs/iot-windowed-kpi/good/report.md" in good_run.stdout
    record = json.loads((workdir / "runs/iot-windowed-kpi/good/run.json").read_text())
    assert record["artifacts"] == {
        "report (md)": "runs/iot-windowed-kpi/good/report.md",
        "report (html)": "runs/iot-windowed-kpi/good/report.html",
    }
    assert record["listener_errors"] == []  # every plugin wrote its files: the report has all its figures
    made = {p.name for p in (workdir / "runs/iot-windowed-kpi/good").iterdir()}
    assert {"tracker.json", "lineage.json", "validation.json"} <= made
    assert {p.name for p in gold.iterdir()} == {
        "device_uptime_daily.parquet",
        "firmware_adoption_daily.parquet",
        "telemetry_1min.parquet",
        "anomalies.parquet",
        "late.parquet",
        "quarantine_telemetry.parquet",
        "quarantine_events.parquet",
        "kpis.json",
        ".kernel-results.json",  # the marker: a later run may replace this directory
    }
    # firmware versions are categorical in memory (kernel_iot.ingest) and text in gold, as the spec has them
    for table, column in (("telemetry_1min", "last_firmware_version"), ("late", "firmware_version"),
                          ("quarantine_telemetry", "firmware_version")):
        written = pq.read_schema(gold / f"{table}.parquet").field(column).type
        assert pa.types.is_string(written) or pa.types.is_large_string(written), (table, written)
    windows = pd.read_parquet(gold / "telemetry_1min.parquet")
    assert {
        "device_id",
        "window_start",
        "window_end",
        "records",
        "online_records",
        "temperature_mean",
        "temperature_max",
        "battery_min",
        "last_firmware_version",
        "last_status",
    } <= set(windows.columns)
    kpis = json.loads((gold / "kpis.json").read_text())
    # conservation: every telemetry record is windowed, late, quarantined or a duplicate
    assert kpis["telemetry_in"] == (
        kpis["windowed_records"] + kpis["late"] + kpis["quarantined_total"] + kpis["duplicates"]
    )
    assert kpis["windowed_records"] == int(windows["records"].sum())
    assert kpis["late"] == len(pd.read_parquet(gold / "late.parquet"))
    assert kpis["quarantined"]["unknown_device"] >= 600  # the generator's flood from one unknown id
    assert 0 <= kpis["fleet_uptime_pooled"] <= 1
    assert 0 <= kpis["anomaly_precision"] <= 1


def test_fleet_uptime_matches_a_plain_computation(workdir: Path, good_run: subprocess.CompletedProcess[str]) -> None:
    gold = workdir / "gold/iot-windowed-kpi"
    kpis = json.loads((gold / "kpis.json").read_text())
    start = pd.Timestamp(kpis["period_start"])
    end = pd.Timestamp(kpis["period_end"])
    registry: dict[str, tuple[pd.Timestamp, pd.Timestamp | None]] = {}
    for row in json.loads((workdir / "data/devices.json").read_text()):
        if row["device_id"] in registry:
            continue  # a repeated id keeps its first row
        installed = pd.Timestamp(row["installed_at"])
        installed = installed.tz_localize("UTC") if installed.tzinfo is None else installed.tz_convert("UTC")
        gone = row["decommissioned_at"]
        gone_at = None
        if gone is not None:
            gone_at = pd.Timestamp(gone)
            gone_at = gone_at.tz_localize("UTC") if gone_at.tzinfo is None else gone_at.tz_convert("UTC")
        registry[row["device_id"]] = (installed, gone_at)
    windows = pd.read_parquet(gold / "telemetry_1min.parquet")
    online = {
        (d, pd.Timestamp(w))
        for d, w, n in zip(windows["device_id"], windows["window_start"], windows["online_records"], strict=True)
        if n >= 1
    }
    in_service = up = 0
    minute = timedelta(minutes=1)
    for device, (installed, gone) in registry.items():
        ws = start
        while ws < end:
            if installed <= ws and (gone is None or ws + minute <= gone):
                in_service += 1
                up += (device, ws) in online
            ws += minute
    assert kpis["fleet_uptime_pooled"] == pytest.approx(up / in_service, abs=1e-12)
    daily = pd.read_parquet(gold / "device_uptime_daily.parquet")
    assert int(daily["in_service_windows"].sum()) == in_service
    assert int(daily["up_windows"].sum()) == up


def test_the_report_shows_the_runs_figures(workdir: Path, good_run: subprocess.CompletedProcess[str]) -> None:
    run_dir = workdir / "runs/iot-windowed-kpi/good"
    report = (run_dir / "report.md").read_text()
    kpis = json.loads((workdir / "gold/iot-windowed-kpi/kpis.json").read_text())
    record = json.loads((run_dir / "run.json").read_text())
    assert "## IoT KPIs" in report
    assert f"| fleet uptime (pooled) | {100 * kpis['fleet_uptime_pooled']:.2f}% |" in report
    assert f"telemetry in {kpis['telemetry_in']} = windowed {kpis['windowed_records']}" in report
    assert "| topology | diamond |" in report
    assert record["status"] == "succeeded"
    html = (run_dir / "report.html").read_text()
    for alt in ("fleet uptime per day", "firmware adoption per day and model"):  # the IoT plugin's charts
        assert re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="' + alt + '"', html), alt


def test_a_gate_failure_publishes_nothing_and_keeps_the_previous_gold(
    workdir: Path, good_run: subprocess.CompletedProcess[str]
) -> None:
    gold = workdir / "gold/iot-windowed-kpi"
    before = {p.name: p.read_bytes() for p in gold.iterdir()}
    # A period that ends before the data: the newest event is outside it, and the freshness gate says so.
    done = kernel(
        "showcase",
        "run",
        "iot-windowed-kpi",
        "--data",
        "data",
        "--param",
        f"refresh={DAYS}d",
        "--param",
        "period_end=2025-12-01T00:00:00Z",
        "--run-id",
        "stale",
        cwd=workdir,
    )
    assert done.returncode == 1
    assert "check 'freshness (newest event inside the period)' failed" in done.stderr
    assert {p.name: p.read_bytes() for p in gold.iterdir()} == before
    record = json.loads((workdir / "runs/iot-windowed-kpi/stale/run.json").read_text())
    assert record["steps"]["conform"]["status"] == "blocked"
    assert record["steps"]["publish"]["status"] == "skipped"


def test_a_corrupt_avro_file_stops_the_run_naming_it(
    workdir: Path, good_run: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(workdir / "data", data)
    bad = sorted((data / "telemetry").glob("*.avro"))[-1]
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    done = kernel("run", _pipeline(), "--param", f"data={data}", "--param", f"gold={tmp_path / 'gold'}", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert bad.name in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "gold").exists()


def test_an_empty_telemetry_directory_is_a_one_line_error(workdir: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(workdir / "data", data)
    for file in (data / "telemetry").iterdir():
        file.unlink()
    done = kernel("run", _pipeline(), "--param", f"data={data}", "--param", f"gold={tmp_path / 'gold'}", cwd=tmp_path)
    assert done.returncode == 2
    assert "telemetry" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "gold").exists()


def _pipeline() -> str:
    from importlib.resources import files

    return str(files("kernel_showcases") / "007-iot-windowed-kpi" / "pipeline.yaml")


def test_the_next_refresh_continues_the_windows_from_the_state_store(
    workdir: Path, good_run: subprocess.CompletedProcess[str], tmp_path: Path
) -> None:
    files = sorted((workdir / "data/telemetry").glob("*.avro"))
    assert len(files) >= 2
    state = tmp_path / "state"

    def refresh(run_id: str, telemetry: str, final: str) -> pd.DataFrame:
        done = kernel("run", _pipeline(), "--param", f"data={workdir / 'data'}", "--param", f"telemetry={telemetry}",
                      "--param", f"refresh={DAYS}d", "--param", f"final={final}", "--param", f"state_dir={state}",
                      "--param", f"gold={tmp_path / run_id}", "--run-id", run_id, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        return pd.read_parquet(tmp_path / run_id / "telemetry_1min.parquet")

    first = refresh("first", f"telemetry/{files[0].name}", "false")
    second = refresh("second", "telemetry/part-0000[1-9].avro", "true")
    assert (state / "manifest.json").is_file()
    # Windows left open by the first run are emitted by the second, none twice.
    keys = lambda f: set(zip(f["device_id"].astype(str), f["window_start"], strict=True))  # noqa: E731
    assert not keys(first) & keys(second)
    whole = pd.read_parquet(workdir / "gold/iot-windowed-kpi/telemetry_1min.parquet")
    assert keys(first) | keys(second) == keys(whole)
    # Records match one run over all files, but for copies of a first-run message delivered in the second
    # run: deduplication does not reach across runs, so such a copy may be windowed once more.
    dups = [json.loads((root / "kpis.json").read_text())["duplicates"]
            for root in (tmp_path / "first", tmp_path / "second", workdir / "gold/iot-windowed-kpi")]
    extra = int(first["records"].sum() + second["records"].sum() - whole["records"].sum())
    assert 0 <= extra <= dups[2] - dups[0] - dups[1]


def test_the_conformed_records_are_read_by_the_window_step_alone() -> None:
    # The kernel drops an output when its last reader is done: the ten million conformed records must go
    # once they are windowed (the later steps read conform's small `heard` instead).
    from kernel import Kernel, load_pipeline

    plan = Kernel().plan(load_pipeline(Path(_pipeline()), {"data": "unused"}))
    readers = sorted(name for name, step in plan.steps.items() if ("conform", "telemetry") in step.reads)
    assert readers == ["window"]
    assert {("conform", "heard")} <= set(plan.steps["reconcile"].reads) & set(plan.steps["firmware_adoption"].reads)
