"""The energy-rollup showcase's totals at every level against a few lines of plain pandas over the raw CSV export:
each level summed straight from the readings, not from the level below (the readings it sets aside are held to
the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, run_showcase

PLANTS = {"P1": "Hamburg", "P2": "Leipzig", "P3": "Brno"}


def _readings(run: ShowcaseRun) -> pd.DataFrame:
    readings = pd.read_csv(run.data / "readings.csv").drop_duplicates("reading_id")
    readings = readings[readings["kwh"].between(0, 150) & readings["source"].isin(["measured", "estimated"])]
    tag = readings["machine_id"].str.split("-", expand=True)
    at = pd.to_datetime(readings["read_at"], utc=True)
    return readings.assign(plant=tag[0].map(PLANTS), line=tag[0] + "-" + tag[1], day=at.dt.strftime("%Y-%m-%d"),
                           hour=at.dt.floor("h"))


def test_every_level_equals_plain_pandas_sums_of_the_readings() -> None:
    run = run_showcase("energy-rollup")
    readings = _readings(run)
    for name, by in (("machines", ["machine_id", "day"]), ("lines", ["line", "day"]), ("plants", ["plant", "day"]),
                     ("company", ["day"])):
        expected = readings.groupby(by)["kwh"].sum()
        got = run.published(name).set_index(by)["kwh"].sort_index()
        assert got.index.tolist() == expected.index.tolist(), name
        assert (got - expected).abs().max() < 0.0006, name


def test_peak_hours_and_shares_equal_plain_pandas() -> None:
    run = run_showcase("energy-rollup")
    readings = _readings(run)
    hourly = readings.groupby(["plant", "day", "hour"])["kwh"].sum().reset_index()
    peaks = hourly.loc[hourly.groupby(["plant", "day"])["kwh"].idxmax()].set_index(["plant", "day"])
    plants = run.published("plants").set_index(["plant", "day"]).sort_index()
    assert (plants["peak_kw"] - peaks["kwh"]).abs().max() < 0.0006
    assert pd.to_datetime(plants["peak_hour"], utc=True).tolist() == peaks["hour"].tolist()
    share = 100 * readings.groupby(["plant", "day"])["kwh"].sum() / readings.groupby("day")["kwh"].sum()
    assert (plants["share_pct"] - share).abs().max() <= 0.005 + 1e-9
    assert plants.groupby("day")["share_pct"].sum().sub(100).abs().max() < 0.02
