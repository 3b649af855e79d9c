"""The flagship's quality gate, declared as the IoT showcase declares it, on the real window.tumbling step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kernel_window.plugin as window_plugin
import pandas as pd
from validator_support import by_id, make_kernel, run

from kernel import Inputs, Outputs, hookimpl, step

T = "2024-01-01T00:"
TELEMETRY = [  # device, seq, event time, arrival, status, firmware
    ("d1", 1, "00:10", "00:11", "ONLINE", "1.0.0"),
    ("d1", 1, "00:10", "00:20", "ONLINE", "1.0.0"),  # a second delivery of d1/1
    ("d1", 2, "01:10", "01:11", "ONLINE", "1.0.0"),
    ("d2", 1, "00:30", "00:31", "OFFLINE", "1.0.0"),
    ("d9", 1, "00:40", "00:41", "ONLINE", "1.0.0"),  # not in the registry
    ("d2", 2, "02:10", "02:11", "DEGRADED", "v2"),  # malformed firmware
    ("d1", 3, "05:00", "05:01", "ONLINE", "1.0.0"),
    ("d2", 3, "00:50", "06:30", "ONLINE", "1.0.0"),  # arrives after the watermark passed its window
]


@step("vt.conform", outputs=("telemetry", "duplicates"))
def conform(inputs: Inputs) -> Outputs:
    """Keep the first arrival of each (device_id, seq); the other deliveries are duplicates."""
    records = inputs["telemetry"].sort_values("ingest_time", kind="stable")
    records = records.assign(online=records["status"].isin(["ONLINE", "DEGRADED"]).astype(int))
    again = records.duplicated(["device_id", "seq"], keep="first")
    return {"telemetry": records[~again], "duplicates": records[again]}


@step("vt.uptime")
def uptime(inputs: Inputs) -> pd.DataFrame:
    """Share of each device's windows with an online record."""
    windows = inputs["windows"]
    up = windows.assign(up=windows["online"] >= 1).groupby("device_id")["up"].mean()
    return up.rename("uptime").reset_index()


class FlagshipSteps:
    @hookimpl
    def register_steps(self) -> list[object]:
        return [conform, uptime]


def flagship(period_end: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows = [
        {"device_id": d, "seq": s, "event_time": T + e, "ingest_time": T + a, "status": st, "firmware_version": fw}
        for d, s, e, a, st, fw in TELEMETRY
    ]
    steps: list[dict[str, Any]] = [
        {"name": "registry", "uses": "vt.rows", "settings": {"rows": [{"device_id": "d1"}, {"device_id": "d2"}]}},
        {"name": "ingest", "uses": "vt.rows", "settings": {"rows": rows, "timestamps": ["event_time", "ingest_time"]}},
        {
            "name": "conform",
            "uses": "vt.conform",
            "needs": {"telemetry": "ingest", "registry": "registry"},
            "checks": [
                {"check": "not_null", "output": "telemetry", "columns": ["device_id", "seq", "event_time"]},
                {"check": "foreign_key", "output": "telemetry", "column": "device_id", "ref": "registry",
                 "on_fail": "quarantine"},
                {"check": "matches", "output": "telemetry", "column": "firmware_version",
                 "pattern": r"^[0-9]+\.[0-9]+\.[0-9]+$", "on_fail": "quarantine"},
                {"check": "freshness", "output": "telemetry", "column": "event_time",
                 "max_age": "${params.refresh}", "now": "${params.period_end}"},
            ],
        },
        {
            "name": "window",
            "uses": "window.tumbling",
            "needs": {"records": "conform.telemetry"},
            "settings": {
                "time_column": "event_time", "arrival_column": "ingest_time", "keys": ["device_id"],
                "size": "1min", "watermark": "2min", "trigger": "1min",
                "aggregations": {"records": "count", "online": "sum(online)"},
            },
            "checks": [
                {"check": "unique", "output": "windows", "columns": ["device_id", "window_start"]},
                {"check": "not_null", "output": "windows", "columns": ["device_id", "window_start"]},
                {"check": "foreign_key", "output": "windows", "column": "device_id", "ref": "registry"},
                {"check": "reconcile", "id": "record conservation", "left": ["ingest"],
                 "right": ["window.windows:records", "window.late", "window.quarantine",
                           "quarantine/conform.telemetry", "conform.duplicates"]},
            ],
        },
        {"name": "device_uptime", "uses": "vt.uptime", "needs": {"windows": "window.windows"},
         "checks": [{"check": "in_range", "column": "uptime", "min": 0, "max": 1}]},
        {"name": "publish", "uses": "vt.publish", "needs": ["device_uptime"]},
    ]
    return steps, {"period_end": period_end, "refresh": "1d"}


def kernel() -> Any:
    return make_kernel(("window", window_plugin), ("flagship", FlagshipSteps()))


def test_the_flagship_gate_passes_and_accounts_for_every_record(tmp_path: Path) -> None:
    steps, params = flagship("2024-01-02T00:00:00Z")
    result, validation = run(tmp_path, steps, kernel=kernel(), params=params)
    assert result.ok, result.record.error
    assert validation is not None
    checks = by_id(validation)
    # Only the two quarantining checks found rows (and moved them); the gate passed.
    assert {c["id"] for c in checks.values() if not c["passed"]} == {
        "conform.telemetry.foreign_key(device_id)",
        "conform.telemetry.matches(firmware_version)",
    }
    # 8 deliveries = 4 windowed (d1/1, d1/2, d2/1, d1/3) + 1 late (d2/3) + 2 quarantined (d9, v2) + 1 duplicate.
    assert checks["record conservation"]["observed"]["terms"] == {
        "ingest.out": 8,
        "window.windows:records": 4,
        "window.late": 1,
        "window.quarantine": 0,
        "quarantine/conform.telemetry": 2,
        "conform.duplicates": 1,
    }
    assert checks["device_uptime.out.in_range(uptime)"]["rows_checked"] == 2
    quarantined = pd.read_parquet(result.run.run_dir / "quarantine" / "conform.telemetry.parquet")
    assert sorted(zip(quarantined["device_id"], quarantined["check_id"], strict=True)) == [
        ("d2", "conform.telemetry.matches(firmware_version)"),
        ("d9", "conform.telemetry.foreign_key(device_id)"),
    ]
    assert (result.run.run_dir / "gold" / "out.csv").exists()


def test_stale_data_stops_the_flagship_before_publishing(tmp_path: Path) -> None:
    steps, params = flagship("2024-01-09T00:00:00Z")
    result, _ = run(tmp_path, steps, kernel=kernel(), params=params)
    assert result.record.steps["conform"].status == "blocked"
    assert "check 'conform.telemetry.freshness(event_time)' failed: event_time not fresh" in (result.record.error or "")
    assert {result.record.steps[s].status for s in ("window", "device_uptime", "publish")} == {"skipped"}
    assert not (result.run.run_dir / "gold").exists()
