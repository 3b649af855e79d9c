"""The machine-anomalies showcase's baselines and anomalies against a few lines of plain pandas over the raw
Avro files (the anomalies are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from showcase_support import raw_avro, run_showcase

MACHINES = [f"CNC-0{i}" for i in range(1, 7)] + [f"PRS-0{i}" for i in range(1, 5)] + ["WLD-01", "WLD-02"]


def _judged(data: Path) -> pd.DataFrame:
    """Readings once each, with both values and a machine of the plant; each value's distance from its
    machine's median in median absolute deviations."""
    readings = raw_avro(data, "readings/*/part-*.avro").drop_duplicates("reading_id")
    readings = readings.dropna(subset=["vibration_mm_s", "temperature_c"])
    readings = readings[readings["machine_id"].isin(MACHINES)].copy()
    for column, name in (("vibration_mm_s", "vibration"), ("temperature_c", "temperature")):
        by_machine = readings.groupby("machine_id")[column]
        median = by_machine.transform("median")
        mad = (readings[column] - median).abs().groupby(readings["machine_id"]).transform("median")
        readings[f"{name}_deviations"] = (readings[column] - median).abs() / mad
    return readings


def test_the_anomalies_are_the_readings_far_from_their_machines_median() -> None:
    run = run_showcase("machine-anomalies")
    judged = _judged(run.data)
    far = judged[(judged["vibration_deviations"] > 10) | (judged["temperature_deviations"] > 10)]
    flagged = run.published("flagged")
    assert sorted(flagged["reading_id"]) == sorted(far["reading_id"])
    # Nothing is near the line: healthy readings stay well inside it, anomalies well outside.
    healthy = judged.drop(far.index)
    assert healthy[["vibration_deviations", "temperature_deviations"]].max().max() < 7
    assert far[["vibration_deviations", "temperature_deviations"]].max(axis=1).min() > 13


def test_per_machine_figures_equal_plain_pandas() -> None:
    run = run_showcase("machine-anomalies")
    judged = _judged(run.data)
    far = (judged["vibration_deviations"] > 10) | (judged["temperature_deviations"] > 10)
    expected = judged.assign(anomaly=far).groupby("machine_id").agg(readings=("reading_id", "size"),
                                                                    anomalies=("anomaly", "sum"))
    ranked = run.published("ranked").set_index("machine_id")
    assert ranked["readings"].to_dict() == expected["readings"].to_dict()
    assert ranked["anomalies"].to_dict() == expected["anomalies"].to_dict()
    assert list(ranked["anomalies"]) == sorted(ranked["anomalies"], reverse=True)
    baseline = run.published("baseline").set_index("machine_id")
    medians = judged.groupby("machine_id")["vibration_mm_s"].median()
    assert baseline["vibration_median"].to_dict() == pytest.approx(medians.to_dict(), abs=1e-4)
