"""The sensor-enrichment showcase's alarm rates against a few lines of plain pandas over the raw JSON lines: each
event is given its shift with pandas' merge_asof on event time, not the pipeline's time buckets (the events it
sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _read(data: Path, name: str) -> pd.DataFrame:
    return pd.read_json(data / f"{name}.jsonl", lines=True, dtype=False)


def _enriched_by_hand(data: Path) -> pd.DataFrame:
    events = _read(data, "events").drop_duplicates("event_id")
    events = events[events["vibration_mm_s"].between(0, 50) & events["temperature_c"].between(0, 120)]
    events = events.assign(event_at=pd.to_datetime(events["event_at"], utc=True))
    shifts = _read(data, "shifts")
    shifts = shifts.assign(starts_at=pd.to_datetime(shifts["starts_at"], utc=True)).sort_values("starts_at")
    shifts["shift"] = shifts["starts_at"].dt.hour.map({6: "early", 14: "late", 22: "night"})
    events = pd.merge_asof(events.sort_values("event_at"), shifts, left_on="event_at", right_on="starts_at")
    events = (events.merge(_read(data, "machines"), on="machine_id").merge(_read(data, "lots"), on="lot_id")
              .merge(_read(data, "products"), on="sku"))
    return events.assign(alarm=events["vibration_mm_s"] > events["vibration_limit_mm_s"])


def test_alarms_per_family_shift_and_crew_equal_plain_pandas() -> None:
    run = run_showcase("sensor-enrichment")
    events = _enriched_by_hand(run.data)
    expected = events.groupby(["family", "shift", "crew"])["alarm"].agg(["size", "sum"])
    got = run.published("alarm_rates").set_index(["family", "shift", "crew"])
    assert got.index.tolist() == expected.index.tolist()
    assert got["readings"].tolist() == expected["size"].tolist()
    assert got["alarms"].tolist() == expected["sum"].tolist()
    assert (got["alarms_per_1000"] - 1000 * expected["sum"] / expected["size"]).abs().max() <= 0.005 + 1e-9


def test_late_events_get_the_shift_they_happened_in() -> None:
    run = run_showcase("sensor-enrichment")
    late = set(run.manifest.tables["events"].defects["late"].keys)
    rows = run.rows("enriched")
    rows = rows[rows["event_id"].isin(late)]
    assert len(rows) > 0
    happened = pd.to_datetime(rows["event_at"], utc=True)
    starts = pd.to_datetime(rows["shift_start"], utc=True)
    assert ((starts <= happened) & (happened < starts + pd.Timedelta(hours=8))).all()
    assert (pd.to_datetime(rows["received_at"], utc=True) >= happened + pd.Timedelta(minutes=20)).all()
    per_machine = run.published("by_machine").set_index("machine_id")
    assert per_machine["alarms"].sum() == run.published("alarm_rates")["alarms"].sum()
