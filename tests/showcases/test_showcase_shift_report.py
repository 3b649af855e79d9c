"""The shift-report showcase's four branches against a few lines of plain pandas over the raw Parquet feeds: each
row put on its shift by pandas (shifting the clock back six hours and cutting the day in three), not by the
pipeline's SQL (the rows it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, run_showcase

LINES = ["L1", "L2", "L3", "L4"]
KEY = ["shift_day", "shift", "line"]


def _feed(run: ShowcaseRun, name: str, key: str, time: str) -> pd.DataFrame:
    rows = pd.read_parquet(run.data / f"{name}.parquet").drop_duplicates(key)
    since_six = pd.to_datetime(rows[time], utc=True) - pd.Timedelta(hours=6)
    shift = pd.cut(since_six.dt.hour, [0, 8, 16, 24], right=False, labels=["early", "late", "night"])
    return rows.assign(shift_day=since_six.dt.strftime("%Y-%m-%d"), shift=shift.astype(str))


def _published(run: ShowcaseRun, name: str) -> pd.DataFrame:
    return run.published(name).set_index(KEY).sort_index()


def test_units_and_downtime_per_shift_equal_plain_pandas() -> None:
    run = run_showcase("shift-report")
    counts = _feed(run, "output_counts", "count_id", "counted_at")
    counts = counts[counts["units"].between(0, 40)]
    units = counts.groupby(KEY)["units"].sum()
    throughput = _published(run, "throughput")
    assert throughput.index.tolist() == units.index.tolist()
    assert throughput["units"].tolist() == units.tolist()

    stops = _feed(run, "stops", "stop_id", "started_at")
    stops = stops[stops["cause"].notna() & stops["duration_min"].between(1, 480) & stops["line"].isin(LINES)]
    minutes = stops.groupby(KEY)["duration_min"].sum()
    unplanned = stops[~stops["planned"]].groupby(KEY)["duration_min"].sum().reindex(minutes.index, fill_value=0)
    downtime = _published(run, "downtime")
    assert downtime.index.tolist() == minutes.index.tolist()
    assert (downtime["downtime_min"] - minutes).abs().max() <= 0.05 + 1e-9
    assert (downtime["unplanned_min"] - unplanned).abs().max() <= 0.05 + 1e-9


def test_scrap_and_maintenance_per_shift_equal_plain_pandas() -> None:
    run = run_showcase("shift-report")
    scrap = _feed(run, "scrap", "booking_id", "booked_at")
    scrap = scrap[scrap["quantity"].between(1, 50)
                  & scrap["reason"].isin(["leak test", "scratch", "wrong part", "torque", "dimension"])]
    cost = (scrap["quantity"] * scrap["unit_cost"]).round(2).groupby([scrap[k] for k in KEY]).sum()
    published = _published(run, "scrap_by_shift")
    assert published.index.tolist() == cost.index.tolist()
    assert (published["scrap_cost"] - cost).abs().max() <= 0.005 + 1e-9

    orders = _feed(run, "work_orders", "wo_id", "opened_at")
    orders = orders[orders["kind"].notna() & orders["labour_h"].between(0.25, 24) & orders["line"].isin(LINES)]
    kinds = pd.crosstab([orders[k] for k in KEY], orders["kind"])
    maintenance = _published(run, "maintenance")
    assert maintenance.index.tolist() == kinds.index.tolist()
    for kind in ("preventive", "corrective", "inspection"):
        assert maintenance[kind].tolist() == kinds.get(kind, pd.Series(0, index=kinds.index)).tolist(), kind
