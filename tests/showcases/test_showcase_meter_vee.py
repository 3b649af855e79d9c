"""The meter-vee showcase's billing determinants against a few lines of plain pandas over the raw CSV files (its
reads set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

DAYS = 31


def _raw_reads(data) -> pd.DataFrame:
    files = sorted(data.glob("reads/*/part-*.csv"))
    reads = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    reads["read_at"] = pd.to_datetime(reads["read_at"], utc=True)
    return reads


def _valid(reads: pd.DataFrame) -> pd.DataFrame:
    # late = read in file order behind a read at least two days newer (the hub's backlog), not from received_at
    late = reads["read_at"].cummax().shift() - reads["read_at"] >= pd.Timedelta(days=2)
    ok = reads["kwh"].between(0, 80) & reads["read_type"].isin(["actual", "estimated"]) & ~late
    return reads[ok & ~reads.duplicated("read_id")]


def test_billing_determinants_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("meter-vee")
    valid = _valid(_raw_reads(run.data))
    per_meter = valid.pivot_table(index="meter_id", columns="read_type", values="kwh", aggfunc="sum", fill_value=0)
    days = valid.groupby("meter_id").size()
    mean = valid.groupby("meter_id")["kwh"].mean()
    vee = mean * (DAYS - days)
    billed = per_meter["actual"] + per_meter["estimated"] + vee
    share = (per_meter["estimated"] + vee) / billed

    published = run.published("by_meter").set_index("meter_id")
    assert published.index.tolist() == sorted(days.index)
    assert published["days_read"].to_dict() == days.to_dict()
    assert (published["actual_kwh"] - per_meter["actual"]).abs().max() < 0.001
    assert (published["billed_kwh"] - billed).abs().max() < 0.001
    assert (published["estimated_share"] - share).abs().max() < 0.0001
    visit = run.published("visit_list")
    assert visit["meter_id"].tolist() == share[share > 0.2].sort_values(ascending=False).index.tolist()


def test_the_network_day_and_the_late_reads() -> None:
    run = run_showcase("meter-vee")
    reads = _raw_reads(run.data)
    valid = _valid(reads)
    daily = valid.assign(day=valid["read_at"].dt.strftime("%Y-%m-%d")).groupby("day")
    network = run.published("daily_network").set_index("day")
    assert network["meters_read"].to_dict() == daily.size().to_dict()
    assert (network["actual_kwh"] + network["estimated_kwh"] - daily["kwh"].sum()).abs().max() < 0.002
    # the reads kept aside as after the cut-off took 48 hours or more to reach the head-end
    late = run.published("set_aside").query("set_aside_as == 'after_cut_off'")
    waited = pd.to_datetime(late["received_at"], utc=True) - pd.to_datetime(late["read_at"], utc=True)
    assert (waited >= pd.Timedelta("48h")).all() and len(late) > 0
