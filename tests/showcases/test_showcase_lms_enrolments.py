"""The lms-enrolments showcase's course rolls against a few lines of plain pandas over the two LMSs' raw
exports (the enrolments it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _enrolments_by_hand(data: Path) -> pd.DataFrame:
    moodle = pd.read_json(data / "moodle_enrolments.jsonl", lines=True, dtype=False)
    moodle = moodle[moodle["user_id"].notna() & moodle["role"].isin(["student", "auditor"])]
    moodle = pd.DataFrame({"record_id": moodle["enrol_id"], "lms": "moodle", "course_code": moodle["course_code"],
                           "learner": moodle["user_id"], "role": moodle["role"],
                           "progress": moodle["progress"] * 100})
    canvas = pd.read_csv(data / "canvas_enrolments.csv", dtype={"created": str})
    canvas = canvas[pd.to_datetime(canvas["created"], format="%d/%m/%Y", errors="coerce").notna()
                    & canvas["created"].str.fullmatch(r"\d\d/\d\d/\d{4}")]
    canvas = canvas.merge(pd.read_csv(data / "canvas_sections.csv"), on="section_id")
    roles = {"StudentEnrollment": "student", "ObserverEnrollment": "auditor"}
    canvas = pd.DataFrame({"record_id": canvas["enrollment_ref"], "lms": "canvas",
                           "course_code": canvas["course_code"], "learner": canvas["login"],
                           "role": canvas["enrollment_type"].map(roles), "progress": canvas["current_score"]})
    both = pd.concat([moodle, canvas], ignore_index=True).drop_duplicates("record_id")
    both = both[both["progress"].between(0, 100)]
    return both.merge(pd.read_csv(data / "courses.csv"), on="course_code")


def test_students_fill_and_progress_per_course_equal_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("lms-enrolments")
    enrolments = _enrolments_by_hand(run.data)
    students = enrolments[enrolments["role"] == "student"]
    expected = pd.DataFrame({
        "students": students.groupby("course_code").size(),
        "learners": enrolments.groupby("course_code")["learner"].nunique(),
        "from_canvas": enrolments[enrolments["lms"] == "canvas"].groupby("course_code").size(),
        "progress": enrolments.groupby("course_code")["progress"].mean(),
        "capacity": enrolments.groupby("course_code")["capacity"].first(),
    }).fillna({"from_canvas": 0})
    courses = run.published("courses").set_index("course_code")
    assert courses.index.tolist() == sorted(expected.index)
    expected = expected.loc[courses.index]
    assert courses["students"].tolist() == expected["students"].tolist()
    assert courses["learners"].tolist() == expected["learners"].tolist()
    assert courses["from_canvas"].tolist() == expected["from_canvas"].astype(int).tolist()
    assert (courses["fill_pct"] - 100 * expected["students"] / expected["capacity"]).abs().max() <= 0.051
    assert courses["over_capacity"].tolist() == (expected["students"] > expected["capacity"]).tolist()
    assert (courses["average_progress"] - expected["progress"]).abs().max() <= 0.051


def test_each_lms_and_what_was_set_aside_add_up_to_what_the_systems_sent() -> None:
    run = run_showcase("lms-enrolments")
    by_lms = run.published("by_lms").set_index("lms")
    assert by_lms["enrolments"].to_dict() == _enrolments_by_hand(run.data)["lms"].value_counts().to_dict()
    sent = len(pd.read_json(run.data / "moodle_enrolments.jsonl", lines=True))
    sent += len(pd.read_csv(run.data / "canvas_enrolments.csv"))
    checks = sum(len(run.rows(f"quarantine/{name}.out"))
                 for name in ("moodle_mapped", "canvas_mapped", "unique_enrolments"))
    assert by_lms["enrolments"].sum() + len(run.published("set_aside")) + checks == sent
    departments = run.published("departments")
    assert departments["students"].sum() == run.published("courses")["students"].sum()
