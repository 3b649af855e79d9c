"""The ad-server-logs showcase's click-through rates, spend and invalid traffic against a few lines of plain
pandas over the raw Parquet log (the events it sets aside for defects are held to the generator's manifest by
its expect.yaml, tests/test_showcases.py; the robots are not defects, so they are counted here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml
from showcase_support import data_showcases, run_showcase

ROBOT = r"(Googlebot|bingbot|HeadlessChrome|python-requests)"


def _events_by_hand(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("ad_events/*/part-*.parquet"))
    events = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    spec = yaml.safe_load((data_showcases()["ad-server-logs"] / "data.yaml").read_text())
    agents = spec["tables"]["ad_events"]["columns"]["user_agent"]["distribution"]["values"]  # the agents the log knows
    events = events.drop_duplicates("event_id")
    good = (events["event_type"].isin(["impression", "click"]) & events["user_agent"].isin(agents)
            & events["price_micros"].between(100, 50_000))
    campaigns = pd.read_parquet(data / "campaigns.parquet")
    events = events[good].merge(campaigns, on="campaign_id")
    events["day"] = pd.to_datetime(events["logged_at"], utc=True).dt.strftime("%Y-%m-%d")
    events["robot"] = events["user_agent"].str.extract(ROBOT, expand=False)
    return events


def test_ctr_and_spend_per_campaign_and_day_equal_plain_pandas_over_the_raw_log() -> None:
    run = run_showcase("ad-server-logs")
    events = _events_by_hand(run.data)
    people = events[events["robot"].isna()]
    impressions = people[people["event_type"] == "impression"]
    expected = impressions.groupby(["campaign_id", "day"]).agg(
        impressions=("event_id", "size"), spend=("price_micros", "sum")).join(
        people[people["event_type"] == "click"].groupby(["campaign_id", "day"]).size().rename("clicks"),
        how="outer").fillna(0).reset_index()
    performance = run.published("performance")
    assert performance[["campaign_id", "day"]].values.tolist() == expected[["campaign_id", "day"]].values.tolist()
    assert performance["impressions"].tolist() == expected["impressions"].astype(int).tolist()
    assert performance["clicks"].tolist() == expected["clicks"].astype(int).tolist()
    ctr = 100 * expected["clicks"] / expected["impressions"]
    assert (performance["ctr_pct"] - ctr).abs().max() <= 0.0051
    assert (performance["spend_eur"] - expected["spend"] / 1e6).abs().max() <= 0.0051


def test_the_robots_set_aside_are_every_robot_event_of_a_known_campaign() -> None:
    run = run_showcase("ad-server-logs")
    robots = _events_by_hand(run.data).dropna(subset=["robot"])
    expected = robots.groupby(["campaign_id", "robot"]).size()
    published = run.published("invalid_traffic").set_index(["campaign_id", "robot"])["events"]
    assert published.to_dict() == expected.to_dict()
    set_aside = run.published("set_aside")
    assert (set_aside["set_aside_as"] == "robot").sum() == len(robots)
