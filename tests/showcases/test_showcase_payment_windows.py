"""The payment-windows showcase's figures against plain pandas over the raw JSON lines (the rows it sets aside,
late ones included, are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _payments(data: Path) -> pd.DataFrame:
    lines = [json.loads(line) for path in sorted(data.glob("payments/*/part-*.jsonl"))
             for line in path.read_text().splitlines()]
    return pd.DataFrame(lines)


def test_daily_takings_and_decline_rates_equal_plain_pandas() -> None:
    run = run_showcase("payment-windows")
    raw = _payments(run.data).drop_duplicates("payment_id")
    merchants = pd.read_csv(run.data / "merchants.csv")
    late = set(run.manifest.tables["payments"].defects["late"].keys or ())
    good = raw[raw["amount"].between(0.5, 5000) & raw["status"].isin(["approved", "declined"])
               & ~raw["payment_id"].isin(late)].merge(merchants, on="merchant_id")
    good = good.assign(day=pd.to_datetime(good["paid_at"], utc=True).dt.strftime("%Y-%m-%d"),
                       taken=good["amount"].where(good["status"] == "approved", 0.0),
                       declined=(good["status"] == "declined").astype(int))
    expected = good.groupby(["merchant_id", "day"]).agg(payments=("payment_id", "size"),
                                                        declined=("declined", "sum"),
                                                        takings=("taken", "sum")).reset_index()
    daily = run.published("daily")
    assert daily[["merchant_id", "day"]].astype(str).values.tolist() == \
        expected[["merchant_id", "day"]].astype(str).values.tolist()
    assert daily["payments"].tolist() == expected["payments"].tolist()
    assert daily["declined"].tolist() == expected["declined"].tolist()
    assert (daily["takings"] - expected["takings"].round(2)).abs().max() < 0.011
    rate = (expected["declined"] / expected["payments"]).round(4)
    assert (daily["decline_rate"] - rate).abs().max() < 1e-9


def test_the_late_payments_are_published_with_how_late_they_were() -> None:
    run = run_showcase("payment-windows")
    late = run.published("late")
    minutes = (pd.to_datetime(late["landed_at"], utc=True) - pd.to_datetime(late["paid_at"], utc=True))
    assert (minutes >= pd.Timedelta("30min")).all()  # the generator's least delay
    assert (late["minutes_late"] - minutes.dt.total_seconds() / 60).abs().max() < 0.051
