"""The market-pack showcase's four daily tables against a few lines of plain pandas over the raw CSV files (the
rows each branch sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

ZONES = ["BZ1", "BZ2", "BZ3", "BZ4"]


def _read(data, name: str, key: str, when: str) -> pd.DataFrame:
    frame = pd.read_csv(data / f"{name}.csv").drop_duplicates(key)
    frame[when] = pd.to_datetime(frame[when], utc=True)
    frame["day"] = frame[when].dt.strftime("%Y-%m-%d")
    return frame


def _published(run, name: str) -> pd.DataFrame:
    return run.published(name).set_index(["zone", "day"])


def test_prices_and_load_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("market-pack")
    prices = _read(run.data, "prices", "price_id", "delivery_start")
    prices = prices[prices["price_eur_mwh"].between(-500, 4000)]
    at = prices["delivery_start"]
    peak = prices[(at.dt.day_of_week < 5) & at.dt.hour.between(8, 19)]
    days = prices.groupby(["zone", "day"])["price_eur_mwh"]
    published = _published(run, "price_days")
    assert published.index.tolist() == list(days.groups)
    assert (published["base_eur_mwh"] - days.mean()).abs().max() < 0.006
    assert (published["peak_eur_mwh"] - peak.groupby(["zone", "day"])["price_eur_mwh"].mean()).abs().max() < 0.006
    assert published["negative_hours"].to_dict() == days.apply(lambda p: int((p < 0).sum())).to_dict()

    load = _read(run.data, "load", "load_id", "hour_start")
    load = load[load["actual_mw"].between(2000, 20000) & load["forecast_error_mw"].between(-3000, 3000)]
    forecast = load["actual_mw"] - load["forecast_error_mw"]  # the forecast itself, recomputed
    load["ape"] = (load["actual_mw"] - forecast).abs() / load["actual_mw"]
    by_day = load.groupby(["zone", "day"])
    published = _published(run, "load_days")
    assert (published["forecast_mape"] - by_day["ape"].mean()).abs().max() < 6e-5
    assert published["peak_mw"].to_dict() == by_day["actual_mw"].max().to_dict()
    assert (published["energy_mwh"] - by_day["actual_mw"].sum()).abs().max() < 0.1


def test_imbalance_and_outages_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("market-pack")
    isps = _read(run.data, "imbalance", "isp_id", "isp_start")
    isps = isps[isps["imbalance_price"].between(-1000, 3000)]
    by_day = isps.groupby(["zone", "day"])
    published = _published(run, "imbalance_days")
    assert published["quarters"].to_dict() == by_day.size().to_dict()
    assert (published["net_imbalance_mwh"] - by_day["imbalance_mwh"].sum()).abs().max() < 0.06
    short = by_day["imbalance_mwh"].apply(lambda v: int((v < 0).sum()))
    assert published["short_quarters"].to_dict() == short.to_dict()

    outages = _read(run.data, "outages", "message_id", "starts_at")
    outages = outages[outages["outage_type"].isin(["planned", "forced"]) & outages["unavailable_mw"].between(1, 1500)
                      & outages["zone"].isin(ZONES)]
    # each outage's MW times the hours it covers of each day of the week: its span clipped to the day
    ends = outages["starts_at"] + pd.to_timedelta(outages["duration_h"], unit="h")
    rows = []
    for day in pd.date_range("2026-05-04", "2026-05-10", freq="D", tz="UTC"):
        start = outages["starts_at"].clip(lower=day)
        end = ends.clip(upper=day + pd.Timedelta(days=1))
        hours = (end - start).dt.total_seconds().clip(lower=0) / 3600
        rows.append(pd.DataFrame({"zone": outages["zone"], "day": day.strftime("%Y-%m-%d"),
                                  "mwh": outages["unavailable_mw"] * hours})[hours > 0])
    expected = pd.concat(rows).groupby(["zone", "day"])["mwh"].sum()
    published = _published(run, "outage_days")
    assert sorted(published.index.tolist()) == sorted(expected.index.tolist())
    assert (published["unavailable_mwh"] - expected.reindex(published.index)).abs().max() < 0.06
