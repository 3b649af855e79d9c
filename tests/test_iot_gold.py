"""iot.gold then io.publish: the gold tables with run ids, and kpis.json holding only figures from the inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from kernel_io.steps import publish
from kernel_iot.gold import TABLES, gold, gold_figures, keep_figures

from kernel import StepContext

D0 = pd.Timestamp("2024-03-01T00:00Z")
D1 = pd.Timestamp("2024-03-02T00:00Z")
UTC_MS = "datetime64[ms, UTC]"
REASONS = ["bad_event_time", "future_event_time", "bad_firmware_version", "unknown_device", "decommissioned"]
FILES = {"device_uptime_daily.parquet", "firmware_adoption_daily.parquet", "telemetry_1min.parquet",
         "anomalies.parquet", "late.parquet", "quarantine_telemetry.parquet", "quarantine_events.parquet",
         "kpis.json"}


def inputs(truth_minutes: int = 4) -> dict[str, pd.DataFrame]:
    """A tiny run: 12 records in = 6 windowed + 1 late + 3 quarantined + 2 duplicates."""
    minute = D0 + pd.Timedelta("10min")
    return {
        "device_uptime_daily": pd.DataFrame({"device_id": ["d1", "d2"], "day": [D0, D0], "model": ["A", "B"],
                                             "in_service_windows": [4, 4], "up_windows": [3, 1],
                                             "uptime": [0.75, 0.25]}),
        "firmware_adoption_daily": pd.DataFrame({
            "day": [D0, D0, D1, D1, D1], "model": ["A", "ALL", "A", "B", "ALL"],
            "target": ["1.0.0", None, "1.0.0", "2.0.0", None], "active_devices": [1, 1, 2, 2, 4],
            "adopted_devices": [1, 1, 1, 2, 3], "adoption": [1.0, 1.0, 0.5, 1.0, 0.75]}),
        "telemetry_1min": pd.DataFrame({"device_id": pd.Categorical(["d1", "d1", "d2"]),
                                        "window_start": [minute, minute + pd.Timedelta("1min"), minute],
                                        "records": [2, 2, 2], "emit_kind": pd.Categorical(["watermark"] * 3)}),
        "anomalies": pd.DataFrame({"device_id": ["d1", "d2"], "window_start": [minute, minute], "z": [5.0, -6.0]}),
        "late": pd.DataFrame({"device_id": ["d1"], "seq": [9], "window_start": [minute],
                              "watermark": [minute + pd.Timedelta("2min")], "reason": ["late"]}),
        "quarantine_telemetry": pd.DataFrame({"device_id": ["x", "x", "d1"], "seq": [1, 2, 3], "reason": pd.Categorical(
            ["unknown_device", "unknown_device", "bad_event_time"], categories=REASONS)}),
        "quarantine_events": pd.DataFrame({"event_id": ["e1"], "reason": pd.Categorical(
            ["unknown_device"], categories=["unknown_device", "decommissioned"])}),
        "targets": pd.DataFrame({"model": ["A", "B"], "target": ["1.0.0", "2.0.0"], "source": ["param", "updates"]}),
        "fleet": pd.DataFrame({"fleet_uptime_pooled": pd.array([0.5], dtype="Float64"),
                               "fleet_uptime_mean_of_devices": pd.array([0.5], dtype="Float64"),
                               "in_service_windows": [8], "up_windows": [4]}),
        "anomaly_scores": pd.DataFrame({"anomalies": [2], "true_positives": [1],
                                        "precision": pd.array([0.5 if truth_minutes else None], dtype="Float64"),
                                        "recall": pd.array([0.25 if truth_minutes else None], dtype="Float64"),
                                        "truth_minutes": [truth_minutes]}),
        "counts": pd.DataFrame({"telemetry_in": [12], "duplicates": [2], "quarantined": [3], "conformed": [7]}),
        "window_counts": pd.DataFrame({"input": [7], "aggregated": [6], "late": [1], "quarantined": [0]}),
        "summary": pd.DataFrame({"silent_devices": [1], "unknown_device_events": [1], "firmware_mismatches": [2]}),
        "period": pd.DataFrame({"period_start": [D0], "period_end": [D1 + pd.Timedelta("1D")]}).astype(UTC_MS),
    }


def run(out_dir: Path, frames: dict[str, pd.DataFrame] | None = None, run_id: str = "r1") -> StepContext:
    """iot.gold, then io.publish (on its own, so it publishes at once) as the showcase's pipeline does."""
    ctx = StepContext(run_id=run_id, step="gold", run_dir=out_dir.parent / "run")
    ctx.run_dir.mkdir(exist_ok=True)
    tables = gold(frames or inputs(), ctx=ctx)
    assert set(tables) == {*TABLES, "kpis"}
    publish(tables, path=str(out_dir), documents=["kpis"])
    keep_figures(ctx.run_dir, gold_figures(tables))  # as the plugin does next to the step, and after it
    return ctx


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def siblings(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.parent.iterdir() if p != directory and p.name != "run")


def test_publishes_the_gold_tables_with_run_ids(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    run(gold)
    assert {p.name for p in gold.iterdir()} == {*FILES, ".kernel-results.json"}
    late = pd.read_parquet(gold / "late.parquet")
    assert late["run_id"].tolist() == ["r1"] and late["reason"].tolist() == ["late"]
    quarantine = pd.read_parquet(gold / "quarantine_telemetry.parquet")
    assert quarantine["run_id"].tolist() == ["r1"] * 3 and "reason" in quarantine.columns
    assert pd.read_parquet(gold / "quarantine_events.parquet")["run_id"].tolist() == ["r1"]
    assert len(pd.read_parquet(gold / "telemetry_1min.parquet")) == 3
    assert siblings(gold) == [".gold.lock"]  # nothing left beside it but the lock


def test_kpis_are_the_inputs_figures(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    run(gold)
    kpis = json.loads((gold / "kpis.json").read_text())
    assert kpis == {
        "run_id": "r1", "period_start": "2024-03-01T00:00:00+00:00", "period_end": "2024-03-03T00:00:00+00:00",
        "fleet_uptime_pooled": 0.5, "fleet_uptime_mean_of_devices": 0.5,
        "adoption_last_day": "2024-03-02T00:00:00+00:00", "fleet_adoption_last_day": 0.75,
        "adoption_last_day_per_model": {"A": 0.5, "B": 1.0},
        "firmware_targets": {"A": "1.0.0", "B": "2.0.0"}, "firmware_target_sources": {"A": "param", "B": "updates"},
        "anomalies": 2, "anomaly_precision": 0.5, "anomaly_recall": 0.25,
        "telemetry_in": 12, "duplicates": 2,
        "quarantined": {"bad_event_time": 1, "future_event_time": 0, "bad_firmware_version": 0,
                        "unknown_device": 2, "decommissioned": 0},
        "quarantined_total": 3, "late": 1, "windowed_records": 6, "records_conserved": True,
        "quarantined_events": {"unknown_device": 1, "decommissioned": 0},
        "windows": 3, "silent_devices": 1, "unknown_device_events": 1, "firmware_mismatches": 2,
    }


def test_kpis_leave_out_precision_and_recall_without_ground_truth(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    frames = inputs(truth_minutes=0)
    frames["firmware_adoption_daily"] = frames["firmware_adoption_daily"].iloc[:2]  # no row on the last day
    run(gold, frames)
    kpis = json.loads((gold / "kpis.json").read_text())
    assert "anomaly_precision" not in kpis and "anomaly_recall" not in kpis
    assert kpis["fleet_adoption_last_day"] is None and kpis["adoption_last_day_per_model"] == {}


def test_a_re_emitted_window_is_published_once(tmp_path: Path) -> None:
    frames = inputs()
    windows = frames["telemetry_1min"]
    frames["telemetry_1min"] = pd.concat([windows, windows.iloc[:1].assign(
        records=5, emit_kind=pd.Categorical(["upsert"]))], ignore_index=True)
    run(tmp_path / "gold", frames)
    table = pd.read_parquet(tmp_path / "gold" / "telemetry_1min.parquet")
    assert len(table) == 3 and sorted(table["records"]) == [2, 2, 5]


def test_the_run_directory_keeps_the_figures_the_report_shows(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    ctx = run(gold)
    kept = json.loads((ctx.run_dir / "iot-kpis.json").read_text())
    assert kept["kpis"] == json.loads((gold / "kpis.json").read_text())
    daily = inputs()["device_uptime_daily"]
    by_day = daily.groupby("day")[["in_service_windows", "up_windows"]].sum()
    assert [row["up_windows"] for row in kept["uptime_per_day"]] == by_day["up_windows"].tolist()
    expected = (by_day["up_windows"] / by_day["in_service_windows"]).tolist()
    assert [row["uptime"] for row in kept["uptime_per_day"]] == expected
