"""The ad-impressions showcase's four answers against a few lines of plain pandas over the raw Parquet files, one
per branch (its rows set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase


def _daily(data: Path, table: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(data.glob(f"{table}/*/part-*.parquet"))], ignore_index=True)


def test_click_through_rate_per_campaign() -> None:
    run = run_showcase("ad-impressions")
    impressions = _daily(run.data, "impressions").drop_duplicates("impression_id")
    clicks = pd.read_parquet(run.data / "clicks.parquet").drop_duplicates("click_id")
    clicks = clicks[clicks["ms_to_click"].between(300, 1_800_000)].merge(impressions, on="impression_id")
    expected = pd.DataFrame({"impressions": impressions.groupby("campaign_id").size(),
                             "clicks": clicks.groupby("campaign_id").size()}).fillna(0)
    published = run.published("ctr_by_campaign").set_index("campaign_id").sort_index()
    assert published["impressions"].to_dict() == expected["impressions"].to_dict()
    assert published["clicks"].to_dict() == expected["clicks"].astype(int).to_dict()
    ctr = 100 * expected["clicks"] / expected["impressions"]
    assert (published["ctr_pct"] - ctr).abs().max() <= 0.0005 + 1e-9


def test_spend_per_advertiser_and_conversions_per_channel() -> None:
    run = run_showcase("ad-impressions")
    spend = pd.read_parquet(run.data / "spend.parquet").drop_duplicates("line_id")
    spend = spend[spend["spend_eur"].between(0, 5000)]
    campaigns = pd.read_parquet(run.data / "campaigns.parquet")
    by_advertiser = spend.merge(campaigns, on="campaign_id").groupby("advertiser")["spend_eur"].sum().round(2)
    published = run.published("spend_by_advertiser").set_index("advertiser")
    assert published["spend_eur"].to_dict() == pytest.approx(by_advertiser.to_dict())

    conversions = _daily(run.data, "conversions").drop_duplicates("conversion_id")
    conversions = conversions[conversions["channel"].isin(["display", "video", "social", "search", "email"])
                              & conversions["order_value_eur"].between(1, 2000)]
    by_channel = run.published("conversions_by_channel").set_index("channel")
    assert by_channel["conversions"].to_dict() == conversions.groupby("channel").size().to_dict()


def test_invalid_traffic_share_per_exchange_reads_the_renamed_column_too() -> None:
    run = run_showcase("ad-impressions")
    verdicts = _daily(run.data, "verdicts").drop_duplicates("measurement_id")
    verdicts["verdict"] = verdicts["verdict"].combine_first(verdicts["ivt_verdict"])  # renamed in some files
    verdicts = verdicts[verdicts["exchange"].notna() & verdicts["verdict"].isin(["valid", "givt", "sivt"])]
    share = (100 * verdicts["verdict"].ne("valid").groupby(verdicts["exchange"]).mean()).round(2)
    published = run.published("ivt_by_exchange").set_index("exchange")
    assert published["measured"].to_dict() == verdicts.groupby("exchange").size().to_dict()
    assert published["ivt_share_pct"].to_dict() == pytest.approx(share.to_dict())
