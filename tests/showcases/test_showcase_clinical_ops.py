"""The clinical-ops showcase's four answers against a few lines of plain pandas over the four raw Avro feeds (the
rows each branch sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from showcase_support import raw_avro, run_showcase

SPECIALTIES = ["general medicine", "general surgery", "trauma and orthopaedics", "cardiology", "paediatrics",
               "obstetrics"]


def test_thirty_day_readmissions_equal_plain_pandas_over_the_raw_spells() -> None:
    run = run_showcase("clinical-ops")
    spells = raw_avro(run.data, "spells.avro").drop_duplicates("spell_id")
    spells = spells[spells["patient_id"].notna() & spells["los_days"].between(0, 60)]
    spells = spells.sort_values(["patient_id", "admitted_at"], kind="stable")
    spells["left_at"] = spells["admitted_at"] + pd.to_timedelta((spells["los_days"] * 86400).round(), unit="s")
    back = spells.groupby("patient_id")["admitted_at"].shift(-1)
    spells["back_in_30"] = (back >= spells["left_at"]) & (back < spells["left_at"] + pd.Timedelta(days=30))
    followed = spells[spells["left_at"] < pd.Timestamp("2026-01-30", tz="UTC")]
    expected = followed.groupby("specialty").agg(discharges=("spell_id", "size"), back=("back_in_30", "sum"),
                                                 rate=("back_in_30", "mean")).reset_index()
    published = run.published("readmissions")
    assert published["specialty"].tolist() == expected["specialty"].tolist()
    assert published["discharges"].tolist() == expected["discharges"].tolist()
    assert published["readmitted_30d"].tolist() == expected["back"].tolist()
    assert (published["readmission_rate"] - expected["rate"]).abs().max() <= 0.00005


def test_lab_turnaround_equals_plain_pandas_nearest_rank_percentiles() -> None:
    run = run_showcase("clinical-ops")
    results = raw_avro(run.data, "lab_results/*/part-*.avro").drop_duplicates("sample_id")
    results = results[results["priority"].notna() & results["test"].isin(["FBC", "U&E", "CRP", "LFT", "TROP", "COAG"])
                      & results["turnaround_min"].between(1, 1440)]
    results["day"] = results["received_at"].dt.strftime("%Y-%m-%d")
    results["in_time"] = results["turnaround_min"] <= results["priority"].map({"urgent": 60, "routine": 240})

    def nearest_rank_90(minutes: pd.Series) -> float:
        ordered = np.sort(minutes.to_numpy())
        return float(ordered[math.ceil(0.9 * len(ordered)) - 1])

    expected = results.groupby(["day", "priority"]).agg(
        samples=("sample_id", "size"), median=("turnaround_min", "median"),
        p90=("turnaround_min", nearest_rank_90), in_time=("in_time", "mean")).reset_index()
    published = run.published("lab_turnaround")
    assert published[["day", "priority"]].values.tolist() == expected[["day", "priority"]].values.tolist()
    assert published["samples"].tolist() == expected["samples"].tolist()
    assert published["median_min"].tolist() == expected["median"].tolist()
    assert published["p90_min"].tolist() == expected["p90"].tolist()
    assert (published["within_target_share"] - expected["in_time"]).abs().max() <= 0.00005


def test_admissions_and_discharges_per_day_equal_plain_pandas() -> None:
    run = run_showcase("clinical-ops")
    admissions = raw_avro(run.data, "admissions/*/part-*.avro").drop_duplicates("admission_id")
    admissions = admissions[admissions["method"].notna() & admissions["specialty"].isin(SPECIALTIES)]
    per_day = pd.crosstab(admissions["admitted_at"].dt.strftime("%Y-%m-%d"), admissions["method"])
    published = run.published("admissions_daily").set_index("day")
    assert published["admissions"].tolist() == per_day.sum(axis=1).tolist()
    for method in ["emergency", "elective", "maternity", "transfer"]:
        assert published[method].tolist() == per_day[method].tolist(), method

    discharges = raw_avro(run.data, "discharges/*/part-*.avro").drop_duplicates("discharge_id")
    discharges = discharges[discharges["destination"].notna() & discharges["los_days"].between(0, 120)]
    by_day = discharges.groupby(discharges["discharged_at"].dt.strftime("%Y-%m-%d"))
    published = run.published("discharges_daily").set_index("day")
    assert published["discharges"].tolist() == by_day.size().tolist()
    morning = discharges["discharged_at"].dt.hour < 12
    assert published["before_noon"].tolist() == morning.groupby(by_day.ngroup()).sum().tolist()
    assert (published["mean_stay_days"] - by_day["los_days"].mean().to_numpy()).abs().max() <= 0.0051
