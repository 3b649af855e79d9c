"""The card-fraud showcase's alerts and daily totals against a few lines of plain pandas over the raw Avro feed
(its rejected and quarantined transactions are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from showcase_support import raw_avro, run_showcase


def _mad(values: np.ndarray) -> float:
    return float(np.median(np.abs(values - np.median(values))))


def _scored_by_hand(data: Path) -> pd.DataFrame:
    feed = raw_avro(data, "transactions/*/part-*.avro").drop_duplicates("tx_id")
    known = ["grocery", "fuel", "dining", "transport", "online", "electronics", "travel"]
    buys = feed[feed["amount"].notna() & feed["merchant_category"].isin(known) & (feed["amount"] > 0)]
    buys = buys.sort_values(["card_id", "tx_at"], kind="stable")
    by_card = buys.groupby("card_id")["amount"]
    recent = by_card.rolling(30, min_periods=1)
    buys = buys.assign(
        history=recent.count().to_numpy(), recent_median=recent.median().to_numpy(),
        recent_mad=recent.apply(_mad, raw=True).to_numpy(),
        week_median=by_card.transform("median"), week_mad=by_card.transform(lambda a: _mad(a.to_numpy())))
    enough = buys["history"] >= 20
    centre = buys["recent_median"].where(enough, buys["week_median"])
    spread = buys["recent_mad"].where(enough, buys["week_mad"])
    return buys.assign(z=0.6745 * (buys["amount"] - centre) / spread,
                       day=pd.to_datetime(buys["tx_at"], utc=True).dt.strftime("%Y-%m-%d"))


def test_alerts_and_daily_totals_equal_plain_pandas_over_the_raw_feed() -> None:
    run = run_showcase("card-fraud")
    scored = _scored_by_hand(run.data)
    flagged = scored[scored["z"] > 30]
    alerts = run.published("alerts")
    assert len(alerts) > 0
    assert set(alerts["tx_id"]) == set(flagged["tx_id"])
    assert (alerts.set_index("tx_id")["deviations"] - flagged.set_index("tx_id")["z"]).abs().max() < 0.06

    expected = scored.groupby(["day", "merchant_category"]).agg(
        purchases=("tx_id", "size"), spend=("amount", "sum"),
        alerts=("z", lambda z: int((z > 30).sum()))).reset_index()
    daily = run.published("daily")
    assert daily[["day", "merchant_category"]].values.tolist() == expected[["day", "merchant_category"]].values.tolist()
    assert daily["purchases"].tolist() == expected["purchases"].tolist()
    assert daily["alerts"].tolist() == expected["alerts"].tolist()
    assert (daily["spend"] - expected["spend"]).abs().max() < 0.006
    week = run.published("week").iloc[0]
    assert week["amount_at_risk"] == round(flagged["amount"].sum(), 2)


def test_the_rejected_rows_are_published_with_their_reason() -> None:
    run = run_showcase("card-fraud")
    feed = raw_avro(run.data, "transactions/*/part-*.avro")
    rejected = run.published("rejected")
    counts = rejected["rejected_as"].value_counts().to_dict()
    assert counts.get("duplicate", 0) == feed["tx_id"].duplicated().sum()
    unique = feed.drop_duplicates("tx_id")
    known = unique["merchant_category"].isin(["grocery", "fuel", "dining", "transport", "online", "electronics",
                                              "travel"])
    assert counts.get("reversal", 0) == (known & (unique["amount"] <= 0)).sum()  # the rest were quarantined
    assert set(rejected.loc[rejected["rejected_as"] == "reversal", "reason"]) <= {
        "amount not above 0: a reversal booked as a purchase"}
