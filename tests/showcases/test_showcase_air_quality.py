"""The air-quality showcase's anomalies against a few lines of plain pandas over the raw Avro files (the readings
it flags and quarantines are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
from showcase_support import run_showcase


def _raw_readings(data: Path) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for path in sorted(data.glob("readings/*/part-*.avro")):
        with path.open("rb") as stream:
            rows.extend(fastavro.reader(stream))  # a record of a renamed day has pm2_5 instead of pm25
    frame = pd.DataFrame(rows)
    frame["pm25"] = frame["pm25"].fillna(frame.pop("pm2_5"))
    return frame


def _rolling_median(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The median and the count of the last 24 valid (not negative) readings, this one included."""
    valid = frame["pm25"].where(frame["pm25"] >= 0)
    return valid.rolling(24, min_periods=1).median(), valid.rolling(24, min_periods=1).count()


def test_anomalies_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("air-quality")
    readings = _raw_readings(run.data).drop_duplicates("reading_id").dropna(subset=["pm25"])
    readings = readings.sort_values(["sensor_id", "measured_at", "reading_id"], kind="stable")
    baselines = []
    for _, sensor in readings.groupby("sensor_id", sort=False):
        behind, count = _rolling_median(sensor)
        ahead, _ = _rolling_median(sensor.iloc[::-1])
        baselines.append(behind.where(count >= 12, ahead.reindex(sensor.index)))
    readings["baseline"] = pd.concat(baselines)
    spike = (readings["pm25"] >= 3 * readings["baseline"]) & (readings["pm25"] - readings["baseline"] >= 50)
    expected = readings[spike | (readings["pm25"] < 0)].set_index("reading_id").sort_index()

    anomalies = run.published("anomalies").set_index("reading_id").sort_index()
    assert len(anomalies) > 0
    assert anomalies.index.tolist() == expected.index.tolist()
    assert (anomalies["anomaly"] == "sensor fault").tolist() == (expected["pm25"] < 0).tolist()
    assert (anomalies["baseline"] - expected["baseline"]).abs().max() <= 0.005 + 1e-9  # published to the hundredth
    assert (anomalies["pm25"] == expected["pm25"]).all()


def test_every_reading_is_flagged_ordinary_or_quarantined_with_a_reason() -> None:
    run = run_showcase("air-quality")
    quarantined = run.rows("quarantine/harmonised.out")
    assert set(quarantined["reason"]) <= {"duplicate (reading_id)", "null in pm25"}, set(quarantined["reason"])
    raw = _raw_readings(run.data)
    assert len(raw) == len(run.rows("flagged.out")) + len(run.rows("flagged.rest")) + len(quarantined)
