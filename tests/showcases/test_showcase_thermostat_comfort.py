"""The thermostat-comfort showcase's daily comfort per room and per home against a few lines of plain pandas over
the raw Avro files (its readings set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import raw_avro, run_showcase

BANDS = {"bedroom": (16.0, 20.0), "bathroom": (21.0, 24.0)}  # every other room: 19 to 23 degrees


def _readings() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The readings counted once, with a temperature, a humidity and a known mode: plausible ones and faults."""
    run = run_showcase("thermostat-comfort")
    raw = raw_avro(run.data, "readings/*/part-*.avro").drop_duplicates("reading_id")
    trusted = raw.dropna(subset=["temperature_c", "humidity_pct"])
    trusted = trusted[trusted["hvac_mode"].isin(["heat", "idle", "cool", "off"])]
    thermostats = raw_avro(run.data, "thermostats.avro")
    trusted = trusted.merge(thermostats[["thermostat_id", "home_id", "room"]], on="thermostat_id")
    trusted["day"] = pd.to_datetime(trusted["read_at"], utc=True).dt.strftime("%Y-%m-%d")
    fine = trusted["temperature_c"].between(5, 35) & trusted["humidity_pct"].between(0, 100)
    return trusted[fine], trusted[~fine]


def test_daily_comfort_per_room_equals_plain_pandas() -> None:
    plausible, faults = _readings()
    low = plausible["room"].map(lambda room: BANDS.get(room, (19.0, 23.0))[0])
    high = plausible["room"].map(lambda room: BANDS.get(room, (19.0, 23.0))[1])
    ok = plausible["temperature_c"].between(low, high) & plausible["humidity_pct"].between(30, 60)
    per_day = plausible.assign(ok=ok).groupby(["thermostat_id", "day"])
    expected = pd.DataFrame({"readings": per_day.size(), "comfortable": per_day["ok"].sum(),
                             "mean_temperature_c": per_day["temperature_c"].mean()})
    expected["faults"] = faults.groupby(["thermostat_id", "day"]).size()
    expected["faults"] = expected["faults"].fillna(0).astype(int)

    daily = run_showcase("thermostat-comfort").published("daily").set_index(["thermostat_id", "day"])
    assert sorted(daily.index) == sorted(expected.index)
    daily = daily.loc[expected.index]
    assert daily["readings"].tolist() == expected["readings"].tolist()
    assert daily["comfortable"].tolist() == expected["comfortable"].tolist()
    assert daily["faults"].tolist() == expected["faults"].tolist()
    assert daily["comfort_share"].tolist() == pytest.approx((expected["comfortable"] / expected["readings"]).tolist(),
                                                            abs=0.00051)  # to 3 decimals
    assert daily["mean_temperature_c"].tolist() == pytest.approx(expected["mean_temperature_c"].tolist(), abs=0.005)
    assert set(daily.loc[daily["faults"] > 0, "sensor"]) == {"check sensor"}


def test_home_comfort_and_what_was_set_aside() -> None:
    plausible, faults = _readings()
    homes = run_showcase("thermostat-comfort").published("home_daily").set_index(["home_id", "day"])
    counts = plausible.groupby(["home_id", "day"]).size()
    assert homes["readings"].to_dict() == counts.to_dict()
    set_aside = run_showcase("thermostat-comfort").published("set_aside")
    impossible = set_aside.loc[set_aside["set_aside_as"] == "impossible", "reading_id"]
    assert sorted(impossible) == sorted(faults["reading_id"])
