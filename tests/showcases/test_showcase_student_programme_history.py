"""The student-programme-history showcase's registration changes against a few lines of plain pandas over the
raw extracts (its rows set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

TRACKED = ["status", "study_mode", "route"]


def _extracts_by_hand(data: Path) -> pd.DataFrame:
    """Each student's registration extract by extract (an extract is the four-week period a row was taken in,
    whatever file it came in), without copies and rows whose status or mode is not one."""
    files = sorted(data.glob("registrations/*/part-*.csv"))
    rows = pd.concat([pd.read_csv(f) for f in files], ignore_index=True).drop_duplicates("record_id")
    if "mode_of_study" in rows:
        rows["study_mode"] = rows["study_mode"].fillna(rows["mode_of_study"])
    rows = rows[rows["status"].isin(["enrolled", "interrupted", "suspended", "withdrawn"])
                & rows["study_mode"].isin(["full-time", "part-time"])]
    taken = pd.to_datetime(rows["extracted_at"], utc=True)
    start = pd.Timestamp("2025-09-01", tz="UTC")
    extract = ((taken - start) / pd.Timedelta(days=28)).round().astype(int)
    return rows.assign(extract_day=start + extract * pd.Timedelta(days=28)).sort_values(["student_id", "extract_day"])


def test_the_changes_are_those_plain_pandas_finds_in_the_raw_extracts() -> None:
    run = run_showcase("student-programme-history")
    rows = _extracts_by_hand(run.data)
    changed = rows.groupby("student_id")[TRACKED].shift().ne(rows[TRACKED]).any(axis=1)
    first = ~rows["student_id"].duplicated()
    want = rows[changed & ~first]
    published = run.published("registration_changes")
    got = sorted(zip(published["student_id"], pd.to_datetime(published["valid_from"], utc=True),
                     published["status"], published["study_mode"], published["route"], strict=True))
    assert got == sorted(zip(want["student_id"], want["extract_day"], want["status"], want["study_mode"],
                             want["route"], strict=True))
    history = run.published("history")
    assert len(history) == int(changed.sum())  # a version per student's first extract and per change
    assert history.groupby("student_id")["is_current"].sum().eq(1).all()


def test_the_students_in_each_state_at_each_extract() -> None:
    run = run_showcase("student-programme-history")
    rows = _extracts_by_hand(run.data)
    by_extract = run.published("by_extract").set_index("extract_day")
    # a student missing from an extract (a row set aside) keeps the registration of the extract before
    days = sorted(rows["extract_day"].unique())
    grid = rows.set_index(["student_id", "extract_day"])[TRACKED].unstack("extract_day").stack("extract_day",
                                                                                             future_stack=True)
    grid = grid.groupby(level="student_id").ffill().dropna()
    for day in days:
        state = grid.xs(day, level="extract_day")
        row = by_extract.loc[day.strftime("%Y-%m-%d")]
        assert row["students"] == len(state)
        assert row["withdrawn"] == (state["status"] == "withdrawn").sum()
        assert row["interrupted"] == (state["status"] == "interrupted").sum()
        assert row["part_time"] == (state["study_mode"] == "part-time").sum()
