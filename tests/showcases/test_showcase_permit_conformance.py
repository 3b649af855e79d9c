"""The permit-conformance showcase's figures per district against a few lines of plain pandas over the three
agencies' raw files (the permits it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

WORK = ["new building", "alteration", "demolition", "repair"]


def _day(text: pd.Series, form: str) -> pd.Series:
    return pd.to_datetime(text, format=form, errors="coerce").dt.strftime("%Y-%m-%d")


def _conformed_by_hand(data: Path) -> pd.DataFrame:
    city = pd.read_json(data / "city_permits.jsonl", lines=True, dtype=False)
    city = pd.DataFrame({
        "permit_id": city["permit_no"], "agency": "city",
        "issued_on": pd.to_datetime(city["issued_at"], utc=True).dt.strftime("%Y-%m-%d"),
        "work": city["work_type"].map(dict(zip(["NEW", "ALT", "DEM", "REP"], WORK, strict=True))),
        "cost_eur": city["est_cost"], "district_code": city["district"]})
    county = pd.read_csv(data / "county_permits.csv", dtype={"IssueDate": str})
    county = pd.DataFrame({
        "permit_id": county["PermitID"], "agency": "county",
        "issued_on": _day(county["IssueDate"], "%d/%m/%Y"),
        "work": county["Type"].map(dict(zip(["NB", "AL", "DM", "RP"], WORK, strict=True))),
        "cost_eur": county["ValuationK"] * 1000, "district_code": county["ZoneCode"]})
    regional = pd.read_json(data / "regional_permits.jsonl", lines=True, dtype=False)
    regional = pd.DataFrame({
        "permit_id": regional["ref"], "agency": "regional",
        "issued_on": _day(regional["decision_date"], "%Y%m%d"),
        "work": regional["category"].where(regional["category"].isin(WORK)),
        "cost_eur": regional["cost_cents"] / 100, "district_code": regional["area"]})
    permits = pd.concat([city, county, regional], ignore_index=True)
    permits = permits[permits["work"].notna() & permits["issued_on"].notna() & permits["cost_eur"].notna()]
    permits = permits.drop_duplicates("permit_id")
    permits = permits[permits["cost_eur"].between(500, 20_000_000)]
    districts = pd.read_csv(data / "districts.csv")
    return permits.merge(districts, on="district_code")


def test_permits_per_district_and_quarter_equal_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("permit-conformance")
    permits = _conformed_by_hand(run.data)
    permits["quarter"] = "2025-Q" + pd.to_datetime(permits["issued_on"]).dt.quarter.astype(str)
    expected = permits.groupby(["borough", "district_code", "quarter"]).agg(
        permits=("permit_id", "size"), cost=("cost_eur", "sum"),
        new_buildings=("work", lambda w: int((w == "new building").sum()))).reset_index()
    by_district = run.published("by_district")
    keys = ["borough", "district_code", "quarter"]
    assert by_district[keys].values.tolist() == expected[keys].values.tolist()
    assert by_district["permits"].tolist() == expected["permits"].tolist()
    assert by_district["new_buildings"].tolist() == expected["new_buildings"].tolist()
    assert (by_district["estimated_cost_eur"] - expected["cost"]).abs().max() < 0.02


def test_the_conformed_table_is_every_agencys_permits_in_one_schema() -> None:
    run = run_showcase("permit-conformance")
    expected = _conformed_by_hand(run.data).set_index("permit_id").sort_index()
    published = run.published("permits").set_index("permit_id").sort_index()
    assert list(published.index) == list(expected.index)
    assert (published["issued_on"] == expected["issued_on"]).all()
    assert (published["work"] == expected["work"]).all()
    assert set(published["agency"]) == {"city", "county", "regional"}
    assert run.published("by_agency")["permits"].sum() == len(published)
