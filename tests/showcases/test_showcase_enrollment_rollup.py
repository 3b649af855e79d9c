"""The enrollment-rollup showcase's students per school, district and state against a few lines of plain pandas
over the raw CSV files, each level counted straight from the records rather than from the level below (its
records set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import ShowcaseRun, run_showcase

GRADES = ["KG", *(f"G{n:02d}" for n in range(1, 13))]


def _counted() -> tuple[pd.DataFrame, ShowcaseRun]:
    run = run_showcase("enrollment-rollup")
    records = pd.read_csv(run.data / "enrollments.csv").drop_duplicates("enrollment_id")
    enrolled = pd.to_datetime(records["enrolled_on"], utc=True)
    records = records[records["grade"].isin(GRADES)
                      & enrolled.between(pd.Timestamp("2025-07-01", tz="UTC"), pd.Timestamp("2025-10-01", tz="UTC"))]
    schools = pd.read_csv(run.data / "schools.csv").merge(pd.read_csv(run.data / "districts.csv"), on="district_id")
    return records.merge(schools, on="school_id"), run


def test_every_level_counts_what_its_records_say() -> None:
    records, run = _counted()
    for level, key in (("school_level", "school_id"), ("district_level", "district_id"), ("state_level", "state")):
        published = run.published(level).set_index(key)
        assert published["students"].to_dict() == records.groupby(key).size().to_dict(), level
        learners = records[records["program"] == "english_learner"].groupby(key).size()
        assert published["english_learners"].to_dict() == learners.reindex(published.index, fill_value=0).to_dict()
    high = records[records["grade"].isin(["G09", "G10", "G11", "G12"])].groupby("state").size()
    assert run.published("state_level").set_index("state")["high"].to_dict() == high.to_dict()


def test_district_shares_and_grades_per_state() -> None:
    records, run = _counted()
    by_district = records.groupby(["state", "district_id"]).size()
    share = (100 * by_district / by_district.groupby(level="state").transform("sum")).round(2)
    published = run.published("district_level").set_index(["state", "district_id"])["share_of_state_pct"]
    assert (published - share).abs().max() < 1e-9
    grades = pd.crosstab(records["state"], records["grade"])[GRADES]
    assert run.published("grades_by_state").set_index("state")[GRADES].values.tolist() == grades.values.tolist()
