"""The ev-charging showcase's site figures against a few lines of plain pandas over the raw JSON lines files (its
records set aside and its late records are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def _priced_sessions(data) -> pd.DataFrame:
    """Every record that can be counted, priced, with whether it came two hours or more behind a newer one."""
    files = sorted(data.glob("sessions/*/part-*.jsonl"))
    cdrs = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    cdrs["ended_at"] = pd.to_datetime(cdrs["ended_at"], utc=True)
    cdrs["late"] = cdrs["ended_at"].cummax().shift() - cdrs["ended_at"] >= pd.Timedelta(hours=2)
    cdrs = cdrs[~cdrs.duplicated("session_id")]
    cdrs = cdrs[cdrs["energy_kwh"].between(0, 150) & cdrs["auth_method"].isin(["app", "rfid", "roaming"])]
    read = lambda name: pd.read_json(data / f"{name}.jsonl", lines=True, dtype=False)  # noqa: E731
    priced = cdrs.merge(read("chargers"), on="charger_id").merge(read("tariffs"), on="tariff_id")
    priced["revenue"] = (priced["session_fee"] + priced["energy_kwh"] * priced["price_per_kwh"]).round(2)
    priced["day"] = priced["ended_at"].dt.strftime("%Y-%m-%d")
    return priced


def test_site_days_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("ev-charging")
    priced = _priced_sessions(run.data)
    on_time = priced[~priced["late"]]
    expected = on_time.groupby(["site_id", "day"]).agg(sessions=("session_id", "size"), energy=("energy_kwh", "sum"),
                                                       revenue=("revenue", "sum"))
    published = run.published("site_days").set_index(["site_id", "day"])
    assert published.index.tolist() == expected.index.tolist()
    assert published["sessions"].tolist() == expected["sessions"].tolist()
    assert (published["energy_kwh"] - expected["energy"]).abs().max() < 0.05  # sums of hours rounded to the Wh
    assert (published["revenue_eur"] - expected["revenue"]).abs().max() < 0.15  # and to the cent
    late = run.published("late_records")
    assert sorted(late["session_id"]) == sorted(priced.loc[priced["late"], "session_id"])
    assert (late["minutes_late"] >= 120).all()


def test_the_typical_day_per_site() -> None:
    run = run_showcase("ev-charging")
    on_time = _priced_sessions(run.data).query("not late")
    by_hour = on_time.groupby(["site_id", on_time["ended_at"].dt.hour])["energy_kwh"].sum()
    published = run.published("peak_hours").set_index(["site_id", "hour_of_day"])["energy_kwh"]
    assert published.index.tolist() == by_hour.index.tolist()
    assert (published - by_hour).abs().max() < 0.05
