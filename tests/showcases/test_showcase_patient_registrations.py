"""The patient-registrations showcase's figures per week and region against a few lines of plain pandas over
the two hospitals' raw exports (the registrations it sets aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _conformed_by_hand(data: Path) -> pd.DataFrame:
    north = pd.read_json(data / "north_registrations.jsonl", lines=True, dtype=False)
    registered = pd.to_datetime(north["registered_at"], utc=True)
    north = pd.DataFrame({
        "patient_id": north["mrn"], "hospital": "north", "registered_at": registered,
        "sex": north["sex"].map({"M": "male", "F": "female", "U": "unknown"}),
        "age": registered.dt.year - north["birth_year"],
        "weight_kg": north["weight_kg"], "height_cm": north["height_cm"], "practice_code": north["gp_practice"]})
    south = pd.read_parquet(data / "south_registrations.parquet")
    south = pd.DataFrame({
        "patient_id": south["patient_ref"], "hospital": "south", "registered_at": south["reg_time"],
        "sex": south["sex_code"].map({"1": "male", "2": "female", "9": "unknown"}), "age": south["age_years"],
        "weight_kg": (south["weight_lb"] / 2.20462262).round(1), "height_cm": (south["height_in"] * 2.54).round(1),
        "practice_code": south["gp_code"]})
    both = pd.concat([north, south], ignore_index=True)
    both = both[both["sex"].notna() & both["weight_kg"].notna() & both["height_cm"].notna()]
    both = both.drop_duplicates("patient_id")
    both = both[both["weight_kg"].between(34, 201) & both["height_cm"].between(138, 207)]
    practices = pd.read_json(data / "practices.jsonl", lines=True)
    both = both.merge(practices, on="practice_code")
    day = pd.to_datetime(both["registered_at"], utc=True).dt.floor("D")
    monday = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return both.assign(bmi=(both["weight_kg"] / (both["height_cm"] / 100) ** 2).round(1),
                       week=monday.dt.strftime("%Y-%m-%d"))


def test_registrations_per_week_and_region_equal_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("patient-registrations")
    both = _conformed_by_hand(run.data)
    expected = both.groupby(["week", "region"]).agg(
        registrations=("patient_id", "size"), north=("hospital", lambda h: int((h == "north").sum())),
        mean_bmi=("bmi", "mean"), obese=("bmi", lambda b: (b >= 30).mean())).reset_index()
    published = run.published("by_week_region")
    assert published[["week", "region"]].values.tolist() == expected[["week", "region"]].values.tolist()
    assert published["registrations"].tolist() == expected["registrations"].tolist()
    assert published["north"].tolist() == expected["north"].tolist()
    assert (published["mean_bmi"] - expected["mean_bmi"]).abs().max() <= 0.0051
    assert (published["obese_share"] - expected["obese"]).abs().max() <= 0.00006


def test_both_hospitals_end_in_one_table_in_kilograms_and_centimetres() -> None:
    run = run_showcase("patient-registrations")
    expected = _conformed_by_hand(run.data).set_index("patient_id").sort_index()
    published = run.published("registrations").set_index("patient_id").sort_index()
    assert list(published.index) == list(expected.index)
    assert (published["sex"] == expected["sex"]).all()
    assert (published["age"] == expected["age"]).all()
    assert (published["weight_kg"] - expected["weight_kg"]).abs().max() < 0.051
    assert (published["height_cm"] - expected["height_cm"]).abs().max() < 0.051
    assert run.published("by_hospital")["registrations"].sum() == len(published)
    counts = run.published("by_band_sex").groupby("sex")["registrations"].sum()
    assert counts.to_dict() == expected.groupby("sex").size().to_dict()
