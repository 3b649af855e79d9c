"""The attendance-swipe-enrichment showcase's attendance against a few lines of plain pandas over the raw JSON
lines (its swipes set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _granted_by_hand(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("swipes/*/part-*.jsonl"))
    swipes = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    swipes = swipes.drop_duplicates("swipe_id")
    students = pd.read_json(data / "students.jsonl", lines=True)
    timetable = pd.read_json(data / "timetable.jsonl", lines=True)
    known = swipes["student_id"].isin(students["student_id"]) & swipes["session_id"].isin(timetable["session_id"])
    return swipes[known & (swipes["result"] == "granted")]


def test_attendance_per_session_and_course_equals_plain_pandas_over_the_raw_swipes() -> None:
    run = run_showcase("attendance-swipe-enrichment")
    granted = _granted_by_hand(run.data)
    timetable = pd.read_json(run.data / "timetable.jsonl", lines=True)
    rooms = pd.read_json(run.data / "rooms.jsonl", lines=True)
    came = granted.groupby("session_id")["student_id"].nunique().rename("came")
    sessions = timetable.merge(rooms, on="room_id").join(came, on="session_id").fillna({"came": 0})
    published = run.published("session_attendance").set_index("session_id")
    expected = sessions.set_index("session_id").loc[published.index]
    assert published["attended"].tolist() == expected["came"].astype(int).tolist()
    assert published["over_capacity"].tolist() == (expected["came"] > expected["capacity"]).tolist()
    assert (published["attendance_pct"] - 100 * expected["came"] / expected["registered"]).abs().max() <= 0.051

    by_course = sessions.groupby("course_code")[["came", "registered"]].sum()
    course = run.published("course_attendance").set_index("course_code")
    assert course["attended"].to_dict() == by_course["came"].astype(int).to_dict()
    pct = 100 * by_course["came"] / by_course["registered"]
    assert (course["attendance_pct"] - pct.loc[course.index]).abs().max() <= 0.051


def test_sessions_attended_by_each_monitored_student() -> None:
    run = run_showcase("attendance-swipe-enrichment")
    granted = _granted_by_hand(run.data)
    students = pd.read_json(run.data / "students.jsonl", lines=True)
    monitored = students.loc[students["monitored"], "student_id"]
    attended = granted.groupby("student_id")["session_id"].nunique().reindex(monitored, fill_value=0)
    published = run.published("monitored_students").set_index("student_id")["sessions_attended"]
    assert published.to_dict() == attended.to_dict()
    assert run.published("monitored_students")["below_threshold"].sum() == (attended < 5).sum()
