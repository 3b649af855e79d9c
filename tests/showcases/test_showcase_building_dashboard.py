"""The building-dashboard showcase's four branches against a few lines of plain pandas each over the raw JSON lines
files (the rows each branch set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase


def _feed(data: Path, table: str, time: str) -> pd.DataFrame:
    """A feed's rows, counted once, with the day (UTC) and hour of their time."""
    rows = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in sorted(data.glob(f"{table}/*/part-*.jsonl"))])
    key = {"counts": "count_id", "co2": "co2_id", "energy": "energy_id", "alarms": "alarm_id"}[table]
    rows = rows.drop_duplicates(key)
    at = pd.to_datetime(rows[time], utc=True)
    return rows.assign(day=at.dt.strftime("%Y-%m-%d"), hour=at.dt.hour)


def test_floor_occupancy_and_room_co2_equal_plain_pandas() -> None:
    run = run_showcase("building-dashboard")
    counts = _feed(run.data, "counts", "counted_at")
    counts = counts[counts["people"].between(0, 300)].merge(pd.read_json(run.data / "floors.jsonl", lines=True))
    per_day = counts.groupby(["floor_id", "day"])
    floors = run.published("floor_days").set_index(["floor_id", "day"])
    assert floors["peak_people"].to_dict() == per_day["people"].max().to_dict()
    over = (counts["people"] > counts["capacity"]).groupby([counts["floor_id"], counts["day"]]).sum()
    assert floors["quarters_over_capacity"].to_dict() == over.to_dict()
    working = counts[counts["hour"].between(8, 17)].groupby(["floor_id", "day"])["people"].mean()
    assert floors["mean_working_hours"].to_dict() == pytest.approx(working.to_dict(), abs=0.051)

    co2 = _feed(run.data, "co2", "measured_at")
    co2 = co2[co2["co2_ppm"].between(350, 5000)]
    minutes = 10 * (co2["co2_ppm"] > 1000).groupby([co2["room_id"], co2["day"]]).sum()
    rooms = run.published("room_days").set_index(["room_id", "day"])
    assert rooms["minutes_above_limit"].to_dict() == minutes.to_dict()
    listed = run.published("rooms_to_ventilate")
    assert sorted(zip(listed["room_id"], listed["day"], strict=True)) == sorted(minutes[minutes >= 60].index)


def test_energy_per_system_and_alarm_response_equal_plain_pandas() -> None:
    run = run_showcase("building-dashboard")
    energy = _feed(run.data, "energy", "hour_start")
    energy = energy[energy["kwh"].between(0, 400)].merge(pd.read_json(run.data / "submeters.jsonl", lines=True))
    kwh = energy.groupby(["system", "day"])["kwh"].sum()
    night = energy[energy["hour"] < 6].groupby(["system", "day"])["kwh"].sum()
    systems = run.published("system_days").set_index(["system", "day"])
    assert systems["kwh"].to_dict() == pytest.approx(kwh.to_dict(), abs=0.006)
    assert systems["night_share"].to_dict() == pytest.approx((night / kwh).to_dict(), abs=0.00051)

    alarms = _feed(run.data, "alarms", "raised_at")
    alarms = alarms[alarms["severity"].isin(["critical", "major", "minor"])
                    & (alarms["ack_minutes"].isna() | alarms["ack_minutes"].between(0, 1440))]
    target = alarms["severity"].map({"critical": 15, "major": 60, "minor": 240})
    groups = [alarms["category"], alarms["severity"]]
    response = run.published("alarm_response").set_index(["category", "severity"])
    assert response["alarms"].to_dict() == alarms.groupby(groups).size().to_dict()
    assert response["unacknowledged"].to_dict() == alarms["ack_minutes"].isna().groupby(groups).sum().to_dict()
    assert response["acknowledged_late"].to_dict() == (alarms["ack_minutes"] > target).groupby(groups).sum().to_dict()
    median = alarms.groupby(groups)["ack_minutes"].median()
    assert response["median_ack_minutes"].to_dict() == pytest.approx(median.to_dict(), abs=0.051)
