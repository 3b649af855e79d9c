"""The takings-reconciliation showcase's store days against a few lines of plain pandas over the raw Avro cash-ups
and the bank's CSV report (its bags and lines set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, raw_avro, run_showcase


def _bags_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    bags = raw_avro(run.data, "cash_bags/*/part-*.avro").drop_duplicates("bag_id")
    bags = bags[bags["declared_eur"].between(20, 5000)]
    bags = bags.merge(pd.read_csv(run.data / "stores.csv"), on="store_id")
    report = pd.read_csv(run.data / "bank_report.csv").drop_duplicates("line_no")
    bags = bags.merge(report[["bag_id", "difference_eur"]], on="bag_id", how="left", validate="one_to_one")
    day = pd.to_datetime(bags["sealed_at"], utc=True).dt.strftime("%Y-%m-%d")
    return bags.assign(business_day=day, credited=bags["declared_eur"] + bags["difference_eur"])


def test_each_store_day_equals_plain_pandas_over_both_sides() -> None:
    run = run_showcase("takings-reconciliation")
    bags = _bags_by_hand(run)
    groups = bags.groupby(["store_id", "business_day"])
    published = run.published("store_reconciliation")
    published = published.assign(business_day=published["business_day"].astype(str)).set_index(
        ["store_id", "business_day"])
    assert published["bags"].to_dict() == groups.size().to_dict()
    assert (published["takings_eur"] - groups["declared_eur"].sum()).abs().max() < 0.006
    assert (published["credited_eur"] - groups["credited"].sum()).abs().max() < 0.006  # NaN: nothing credited
    short = (-bags["difference_eur"].clip(upper=0)).groupby([bags["store_id"], bags["business_day"]]).sum()
    assert (published["short_eur"] - short).abs().max() < 1e-9
    pending = bags["declared_eur"].where(bags["difference_eur"].isna(), 0.0)
    pending = pending.groupby([bags["store_id"], bags["business_day"]]).sum()
    assert (published["not_yet_counted_eur"] - pending).abs().max() < 0.006


def test_every_finding_is_listed_once() -> None:
    run = run_showcase("takings-reconciliation")
    bags = _bags_by_hand(run)
    findings = run.published("findings_list")
    on_pos = findings[findings["status"] != "not on the POS side"].set_index("bag_id")["status"]
    differing = bags[bags["difference_eur"].fillna(1) != 0].set_index("bag_id")["difference_eur"]
    assert sorted(on_pos.index) == sorted(differing.index)
    expected = differing.map(lambda d: "not yet counted" if pd.isna(d) else "short" if d < 0 else "over")
    assert on_pos.to_dict() == expected.to_dict()
    report = pd.read_csv(run.data / "bank_report.csv").drop_duplicates("line_no")
    not_on_pos = set(report["bag_id"]) - set(bags["bag_id"])
    assert set(findings.loc[findings["status"] == "not on the POS side", "bag_id"]) == not_on_pos
