"""The open-data-portal-pack showcase's four pages against a few lines of plain pandas over the raw Avro files
(each branch's set-aside rows are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase


def test_lighting_repairs_per_ward_equal_plain_pandas() -> None:
    run = run_showcase("open-data-portal-pack")
    faults = raw_avro(run.data, "streetlight_faults.avro").drop_duplicates("fault_id")
    kinds = ["lamp out", "day burner", "flickering", "damaged column", "cable fault"]
    good = faults["ward"].notna() & faults["fault_type"].isin(kinds) & faults["repair_hours"].between(0.5, 1500)
    faults = faults[good]
    expected = faults.groupby("ward").agg(faults=("fault_id", "size"),
                                          within=("repair_hours", lambda h: int((h <= 168).sum())),
                                          median=("repair_hours", "median"))
    page = run.published("lighting_repairs").set_index("ward")
    assert page["faults"].to_dict() == expected["faults"].to_dict()
    assert page["repaired_within_7_days"].to_dict() == expected["within"].to_dict()
    assert (page["median_repair_hours"] - expected["median"]).abs().max() <= 0.05 + 1e-9


def test_library_lending_equals_plain_pandas() -> None:
    run = run_showcase("open-data-portal-pack")
    loans = raw_avro(run.data, "library_loans.avro").drop_duplicates("loan_id")
    branches = ["Central", "Northgate", "Riverside", "Eastfield", "Westbury"]
    loans = loans[loans["item_type"].notna() & loans["branch"].isin(branches) & loans["loan_days"].between(1, 42)]
    expected = loans.groupby(["branch", "item_type"]).agg(
        loans=("loan_id", "size"), children=("borrower_band", lambda b: int((b == "child").sum())))
    page = run.published("library_lending").set_index(["branch", "item_type"]).sort_index()
    assert page[["loans", "children"]].to_dict("index") == expected.to_dict("index")


def test_parking_income_per_zone_equals_plain_pandas() -> None:
    run = run_showcase("open-data-portal-pack")
    fines = raw_avro(run.data, "parking_fines.avro").drop_duplicates("pcn_id")
    fines = fines[fines["band"].notna() & fines["zone"].isin([f"CPZ-{z}" for z in "ABCDE"])
                  & fines["status"].isin(["paid", "unpaid", "cancelled", "appealed"])]
    charge = fines["band"].map({"higher": 110, "lower": 70})
    income = charge.where(fines["status"] == "paid", 0) / fines["paid_within_14d"].map({True: 2, False: 1})
    expected = pd.DataFrame({"zone": fines["zone"], "charge": charge, "income": income}).groupby("zone").sum()
    page = run.published("parking_income").set_index("zone")
    assert page["fines_issued"].to_dict() == fines["zone"].value_counts().to_dict()
    assert page["charged_gbp"].to_dict() == expected["charge"].to_dict()
    assert page["income_gbp"].to_dict() == expected["income"].to_dict()


def test_waste_tonnage_per_stream_and_week_equals_plain_pandas() -> None:
    run = run_showcase("open-data-portal-pack")
    lifts = raw_avro(run.data, "waste_collections.avro").drop_duplicates("collection_id")
    lifts = lifts[lifts["tonnes"].between(0.2, 16) & lifts["stream"].isin(["residual", "recycling", "food", "garden"])]
    iso = pd.to_datetime(lifts["collected_at"], utc=True).dt.isocalendar()
    lifts = lifts.assign(week=iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2))
    expected = lifts.groupby(["stream", "week"]).agg(collections=("collection_id", "size"), tonnes=("tonnes", "sum"),
                                                     contaminated=("contaminated", "sum"))
    page = run.published("waste_tonnage").set_index(["stream", "iso_week"]).sort_index()
    assert page.index.tolist() == expected.index.tolist()
    assert page["collections"].tolist() == expected["collections"].tolist()
    assert page["contaminated"].tolist() == expected["contaminated"].tolist()
    assert (page["tonnes"] - expected["tonnes"]).abs().max() < 0.006
