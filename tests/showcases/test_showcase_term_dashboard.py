"""The term-dashboard showcase's four tiles against a few lines of plain pandas over the raw Parquet extracts
(the rows each branch sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _clean(data: Path, table: str, key: str, keep) -> pd.DataFrame:
    """An extract's rows once each, those that can be counted, of students the registry knows."""
    frame = pd.read_parquet(data / f"{table}.parquet").drop_duplicates(key)
    return frame[keep(frame)].merge(pd.read_parquet(data / "students.parquet"), on="student_id")


def test_the_four_tiles_equal_plain_pandas_over_the_raw_extracts() -> None:
    run = run_showcase("term-dashboard")
    codes = ["present", "late", "absent", "authorised"]
    register = _clean(run.data, "attendance", "mark_id", lambda f: f["code"].isin(codes))
    register["week"] = register["session_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN")
    register["week"] = register["week"].dt.start_time.dt.strftime("%Y-%m-%d")
    counted = register[register["code"] != "authorised"]
    expected = (counted["code"].isin(["present", "late"]).groupby([counted["faculty"], counted["week"]]).mean() * 100)
    attendance = run.published("attendance").astype({"week": str}).set_index(["faculty", "week"])["attendance_pct"]
    assert attendance.index.tolist() == sorted(expected.index.tolist())
    assert (attendance - expected.loc[attendance.index]).abs().max() <= 0.051

    marks = _clean(run.data, "marks", "mark_no", lambda f: f["score"].between(0, 100))
    tile = run.published("marks").set_index("faculty")
    assert tile["marks"].to_dict() == marks["faculty"].value_counts().to_dict()
    assert tile["fails"].to_dict() == marks[marks["score"] < 40]["faculty"].value_counts().to_dict()
    assert (tile["mean_mark"] - marks.groupby("faculty")["score"].mean()).abs().max() <= 0.0051

    kinds = ["book", "laptop", "journal", "e-reader"]
    loans = _clean(run.data, "loans", "loan_id", lambda f: f["item_type"].isin(kinds) & f["loan_days"].between(0, 120))
    tile = run.published("library").set_index(["faculty", "item_type"])
    overdue = (loans["loan_days"] > 28).groupby([loans["faculty"], loans["item_type"]]).sum()
    assert tile["overdue_loans"].to_dict() == overdue.to_dict()
    assert tile["borrowers"].to_dict() == loans.groupby(["faculty", "item_type"])["student_id"].nunique().to_dict()

    fees = _clean(run.data, "fee_accounts", "account_no", lambda f: f["balance_due"].between(0, 9535))
    tile = run.published("fees").set_index("faculty")
    assert (tile["owed"] - fees.groupby("faculty")["balance_due"].sum()).abs().max() < 0.01
    late = fees[fees["days_overdue"] > 0]
    assert (tile["owed_overdue"] - late.groupby("faculty")["balance_due"].sum()).abs().max() < 0.01
