"""The account-history showcase's grade changes and grade durations against a few lines of plain pandas over
the raw nightly Parquet snapshots (the rows it sets aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

GRADES = ["standard", "watch", "substandard", "doubtful"]
PERIOD_END = pd.Timestamp("2026-03-15", tz="UTC")


def _spells_by_hand(data: Path) -> pd.DataFrame:
    """Each run of nights an account kept one grade: its grade, first night and length in days."""
    files = sorted(data.glob("snapshots/*/part-*.parquet"))
    rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).drop_duplicates("snapshot_id")
    rows = rows[rows["risk_grade"].isin(GRADES)]
    rows = rows.assign(night=rows["taken_at"].dt.floor("D")).sort_values(["account_id", "night"])
    new_spell = (rows["risk_grade"] != rows.groupby("account_id")["risk_grade"].shift()).cumsum()
    spells = rows.groupby(new_spell).agg(account_id=("account_id", "first"), grade=("risk_grade", "first"),
                                         start=("night", "first")).reset_index(drop=True)
    end = spells.groupby("account_id")["start"].shift(-1).fillna(PERIOD_END)
    return spells.assign(days=(end - spells["start"]).dt.days, open=spells.groupby("account_id").cumcount(
        ascending=False) == 0)


def test_grade_changes_equal_plain_pandas_over_the_raw_snapshots() -> None:
    run = run_showcase("account-history")
    spells = _spells_by_hand(run.data)
    before = spells.groupby("account_id")[["grade", "days"]].shift()
    changes = spells[before["grade"].notna()].assign(from_grade=before["grade"], from_days=before["days"])
    changes = changes.sort_values(["account_id", "start"])
    assert len(changes) > 0
    published = run.published("grade_changes")
    published["changed_on"] = pd.to_datetime(published["changed_on"], utc=True)
    assert published[["account_id", "changed_on", "from_grade", "to_grade"]].values.tolist() == \
        changes[["account_id", "start", "from_grade", "grade"]].values.tolist()
    assert published["from_grade_lasted_days"].tolist() == changes["from_days"].astype(int).tolist()
    assert published["to_grade_lasted_days"].tolist() == changes["days"].tolist()
    changed = run.published("accounts_changed")
    assert sorted(changed["account_id"]) == sorted(changes["account_id"].unique())


def test_how_long_each_grade_lasted_equals_plain_pandas() -> None:
    run = run_showcase("account-history")
    spells = _spells_by_hand(run.data)
    expected = spells.groupby("grade").agg(spells=("days", "size"), still_open=("open", "sum"),
                                           mean_days=("days", "mean"), longest_days=("days", "max"))
    published = run.published("grade_duration").set_index("risk_grade")
    assert published["spells"].to_dict() == expected["spells"].to_dict()
    assert published["still_open"].to_dict() == expected["still_open"].to_dict()
    assert published["longest_days"].to_dict() == expected["longest_days"].to_dict()
    assert (published["mean_days"] - expected["mean_days"].round(2)).abs().max() < 1e-9
