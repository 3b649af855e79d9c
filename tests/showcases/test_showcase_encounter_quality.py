"""The encounter-quality showcase's encounters and length of stay per department against a few lines of plain
pandas over the raw JSON lines files, and its quarantine's reasons against the generator's manifest (the
quarantined encounters as a whole are held to it by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import run_showcase

DEPARTMENTS = ["emergency", "cardiology", "orthopaedics", "oncology", "paediatrics", "maternity", "general_medicine"]


def test_encounters_and_stays_per_department_equal_plain_pandas() -> None:
    run = run_showcase("encounter-quality")
    frames = [pd.read_json(path, lines=True, dtype=False) for path in sorted(run.data.glob("encounters/*/*.jsonl"))]
    raw = pd.concat(frames, ignore_index=True).drop_duplicates("encounter_id")
    born = pd.to_datetime(raw["birth_date"], utc=True)
    good = raw[raw["patient_id"].notna()
               & raw["diagnosis_code"].str.fullmatch(r"[A-T]\d\d\.\d").fillna(False).astype(bool)
               & raw["department"].isin(DEPARTMENTS)
               & born.between(pd.Timestamp("1920-01-01", tz="UTC"), pd.Timestamp("2026-03-16", tz="UTC"))
               & (raw["length_of_stay_h"] > 0) & (raw["length_of_stay_h"] <= 1440)]
    days = good.assign(days=good["length_of_stay_h"].astype(float) / 24).groupby("department")
    expected = pd.DataFrame({"encounters": days.size(), "patients": days["patient_id"].nunique(),
                             "average_stay_days": days["days"].mean().round(2),
                             "median_stay_days": days["days"].median().round(2)})
    ranked = run.published("ranked").set_index("department")
    assert list(ranked["encounters"]) == sorted(ranked["encounters"], reverse=True)
    assert ranked["encounters"].to_dict() == expected["encounters"].to_dict()
    assert ranked["patients"].to_dict() == expected["patients"].to_dict()
    assert ranked["average_stay_days"].to_dict() == pytest.approx(expected["average_stay_days"].to_dict(), abs=0.0051)
    assert ranked["median_stay_days"].to_dict() == pytest.approx(expected["median_stay_days"].to_dict(), abs=0.0051)


def test_each_quarantined_encounter_carries_the_reason_the_generator_made() -> None:
    run = run_showcase("encounter-quality")
    quarantined = run.rows("quarantine/unique_encounters.out").set_index("encounter_id")["check_id"]
    defects = run.manifest.tables["encounters"].defects
    order = [("missing patient id", "nulls.patient_id"), ("invalid diagnosis code", "malformed.diagnosis_code"),
             ("unknown department", "malformed.department"), ("impossible birth date", "out_of_range.birth_date"),
             ("impossible length of stay", "out_of_range.length_of_stay_h")]
    expected: dict[str, str] = {}
    for check, defect in reversed(order):  # a row failing several checks is labelled with the first declared
        if defect in defects:
            expected.update(dict.fromkeys(defects[defect].keys or [], check))
    assert quarantined.to_dict() == expected
