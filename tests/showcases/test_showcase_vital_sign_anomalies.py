"""The vital-sign-anomalies showcase's anomalies against a few lines of plain pandas over the raw JSON lines
feed: each patient's rolling baselines recomputed with pandas' own rolling medians (its sets set aside and its
anomalies are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

VITALS = {"heart_rate": (16, "heart rate high", "heart rate low"),
          "systolic_bp": (20, "blood pressure high", "blood pressure low"),
          "temperature_c": (1.0, "fever", "temperature low")}


def _judged_by_hand(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("observations/*/part-*.jsonl"))
    feed = pd.concat([pd.read_json(f, lines=True, dtype=False) for f in files], ignore_index=True)
    feed = feed.drop_duplicates("obs_id")
    feed = feed[feed[list(VITALS)].notna().all(axis=1) & feed["source"].isin(["monitor", "manual"])]
    feed = feed.assign(taken_at=pd.to_datetime(feed["taken_at"], utc=True))
    feed = feed.sort_values(["patient_id", "taken_at"], kind="stable").reset_index(drop=True)
    by_patient = feed.groupby("patient_id")
    hour_of_stay = by_patient.cumcount() + 1
    labels = []
    for vital, (margin, high, low) in VITALS.items():
        past = by_patient[vital].transform(lambda v: v.rolling(24, min_periods=1).median())
        ahead = by_patient[vital].transform(lambda v: v[::-1].rolling(24, min_periods=1).median()[::-1])
        baseline = past.where(hour_of_stay >= 12, ahead)
        if vital == "temperature_c":
            baseline = baseline.round(2)
        deviation = (feed[vital] - baseline).round(2)
        labels.append(pd.Series(None, index=feed.index, dtype=object)
                      .mask(deviation >= margin, high).mask(deviation <= -margin, low))
    feed["anomaly"] = pd.concat(labels, axis=1).apply(lambda row: "; ".join(row.dropna()) or None, axis=1)
    return feed


def test_the_anomalies_equal_plain_pandas_rolling_medians_over_the_raw_feed() -> None:
    run = run_showcase("vital-sign-anomalies")
    judged = _judged_by_hand(run.data)
    expected = judged[judged["anomaly"].notna()].set_index("obs_id")["anomaly"].sort_index()
    published = run.published("anomalies").set_index("obs_id")["anomaly"].sort_index()
    assert len(published) > 0
    assert published.to_dict() == expected.to_dict()


def test_the_worklist_puts_the_patients_with_most_anomalies_first() -> None:
    run = run_showcase("vital-sign-anomalies")
    published = run.published("anomalies")
    counts = published.groupby("patient_id").size()
    assert (published["patient_anomalies"] == published["patient_id"].map(counts)).all()
    assert published["patient_anomalies"].is_monotonic_decreasing
    assert len(run.rows("flagged.rest")) + len(published) == len(run.rows("complete.out"))
