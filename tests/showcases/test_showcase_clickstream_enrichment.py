"""The clickstream-enrichment showcase's funnel and campaign returns against a few lines of plain pandas over the
raw JSON lines (its events set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _json(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=False)


def _sourced_by_hand(data: Path) -> pd.DataFrame:
    events = pd.concat([_json(p) for p in sorted((data / "events").glob("*/*.jsonl"))], ignore_index=True)
    events = events.drop_duplicates("event_id")
    events = events[events["event_type"].isin(["view", "add_to_cart", "purchase"]) & events["quantity"].between(1, 3)]
    sessions, campaigns = _json(data / "sessions.jsonl"), _json(data / "campaigns.jsonl")
    events = events.merge(sessions, on="session_id").merge(_json(data / "products.jsonl"), on="sku")
    channel = events["campaign_id"].map(campaigns.set_index("campaign_id")["channel"])
    traffic = channel.where(channel.notna(), "untracked").where(events["campaign_id"].notna(), "direct")
    bought = events["event_type"] == "purchase"
    return events.assign(traffic=traffic, bought=bought,
                         revenue=(events["quantity"] * events["price"]).round(2).where(bought, 0.0))


def test_the_funnel_per_traffic_source_and_category_equals_plain_pandas() -> None:
    run = run_showcase("clickstream-enrichment")
    events = _sourced_by_hand(run.data)
    groups = events.groupby(["traffic", "category"])
    funnel = run.published("funnel").set_index(["traffic", "category"])
    assert funnel["events"].to_dict() == groups.size().to_dict()
    assert funnel["sessions"].to_dict() == groups["session_id"].nunique().to_dict()
    assert funnel["purchases"].to_dict() == groups["bought"].sum().to_dict()
    buyers = events[events["bought"]].groupby(["traffic", "category"])["session_id"].nunique()
    rate = (buyers.reindex(groups.size().index, fill_value=0) / groups["session_id"].nunique()).round(4)
    assert (funnel["conversion_rate"] - rate).abs().max() < 1e-9
    assert (funnel["revenue"] - groups["revenue"].sum()).abs().max() < 0.01


def test_each_campaigns_return_on_spend() -> None:
    run = run_showcase("clickstream-enrichment")
    events = _sourced_by_hand(run.data)
    campaigns = _json(run.data / "campaigns.jsonl").set_index("campaign_id")
    revenue = events.groupby("campaign_id")["revenue"].sum().reindex(campaigns.index, fill_value=0.0)
    returns = run.published("campaign_returns").set_index("campaign_id")
    assert (returns.loc[campaigns.index, "revenue"] - revenue).abs().max() < 0.01
    assert (returns.loc[campaigns.index, "roas"] - (revenue / campaigns["spend_eur"]).round(2)).abs().max() <= 0.011
    assert list(returns["roas"]) == sorted(returns["roas"], reverse=True)
