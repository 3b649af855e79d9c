"""The gauge-calibration-history showcase's type-2 history against a few lines of plain pandas over the raw
Parquet exports (the rows it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

EXPORTS = pd.to_datetime(["2026-01-05", "2026-02-02", "2026-03-02", "2026-03-30", "2026-04-27", "2026-05-25"],
                         utc=True)
UNTIL = pd.Timestamp("2026-06-22", tz="UTC")


def _valid_rows(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("snapshots/*/part-*.parquet"))
    rows = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    if "cal_interval_days" in rows:  # the upgrade's exports renamed the column
        rows["interval_days"] = rows["interval_days"].fillna(rows.pop("cal_interval_days"))
    rows = rows.drop_duplicates("export_row")
    rows = rows[rows["status"].isin(["in_cal", "due", "out_of_cal", "locked_out"])
                & rows["interval_days"].between(90, 365)]
    # each row belongs to the export it was taken on (the last export day at or before it), whatever its file
    taken = pd.to_datetime(rows["exported_at"], utc=True).dt.floor("D")
    return rows.assign(as_of=EXPORTS[EXPORTS.searchsorted(taken, side="right") - 1]).sort_values(["gauge_id", "as_of"])


def test_versions_are_the_status_and_interval_changes_of_plain_pandas() -> None:
    run = run_showcase("gauge-calibration-history")
    rows = _valid_rows(run.data)
    state = rows[["status", "interval_days"]].astype(str).agg("/".join, axis=1)
    changed = state != state.groupby(rows["gauge_id"]).shift()
    versions = rows[changed.to_numpy()].copy()
    versions["valid_to"] = versions.groupby("gauge_id")["as_of"].shift(-1)
    versions["days"] = (versions["valid_to"].fillna(UNTIL) - versions["as_of"]).dt.days

    history = run.published("history")
    assert history[["gauge_id", "status"]].values.tolist() == versions[["gauge_id", "status"]].values.tolist()
    assert pd.to_datetime(history["valid_from"], utc=True).tolist() == versions["as_of"].tolist()
    assert history["interval_days"].tolist() == versions["interval_days"].astype(int).tolist()
    assert history["days"].tolist() == versions["days"].tolist()
    assert history.groupby("gauge_id")["days"].sum().eq((UNTIL - rows.groupby("gauge_id")["as_of"].min()).dt.days).all()

    out = versions[versions["status"].isin(["out_of_cal", "locked_out"])]
    columns = ["gauge_id", "status", "days"]
    assert run.published("out_of_calibration")[columns].values.tolist() == out[columns].values.tolist()
