"""The reefer-excursions showcase's excursion hours per shipment against a few lines of plain pandas over the raw
Avro files: the watermark is simulated batch by batch here, not taken from the window step (its readings set
aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import raw_avro, run_showcase

HOUR = pd.Timedelta(hours=1)


def _judged() -> pd.DataFrame:
    """Booked readings counted once, with a temperature within 20 degrees of the setpoint and a known mode, each
    judged against its product's band and marked late as a one-hour watermark over hourly batches finds it."""
    data = run_showcase("reefer-excursions").data
    readings = raw_avro(data, "readings/*/part-*.avro").drop_duplicates("reading_id")
    readings = readings[readings["supply_offset_c"].between(-20, 20)
                        & readings["unit_mode"].isin(["cooling", "defrost", "standby"])]
    readings = readings.merge(raw_avro(data, "shipments.avro"), on="shipment_id")
    readings = readings.merge(raw_avro(data, "products.avro"), on="product_code")
    readings = readings.sort_values("received_at", kind="stable")
    recorded = pd.to_datetime(readings["recorded_at"], utc=True)
    batch = pd.to_datetime(readings["received_at"], utc=True).dt.floor("h")
    newest = recorded.groupby(batch).max().cummax()       # the newest event time after each batch
    watermark = (newest - HOUR).shift()                   # what judged the batch: the one before's
    readings["hour"] = recorded.dt.floor("h")
    readings["late"] = (readings["hour"] + HOUR) <= batch.map(watermark)
    temperature = (readings["setpoint_c"] + readings["supply_offset_c"]).round(2)
    outside = (temperature > readings["setpoint_c"] + readings["tolerance_c"]) | (
        temperature < readings["setpoint_c"] - readings["tolerance_c"])
    readings["excursion"] = (readings["unit_mode"] == "cooling") & outside
    return readings


def test_excursion_hours_per_shipment_equal_plain_pandas() -> None:
    readings = _judged()
    on_time = readings[~readings["late"]]
    hours = on_time.groupby(["shipment_id", "hour"])["excursion"].any().groupby("shipment_id")
    report = run_showcase("reefer-excursions").published("shipment_report").set_index("shipment_id")
    assert report["hours_observed"].to_dict() == hours.size().to_dict()
    assert report["excursion_hours"].to_dict() == hours.sum().to_dict()
    assert report["readings"].to_dict() == on_time.groupby("shipment_id").size().to_dict()
    late = readings[readings["late"]].groupby("shipment_id").size()
    assert report["late_readings"].to_dict() == late.reindex(report.index, fill_value=0).to_dict()
    inspect = hours.sum() >= 3
    assert set(report.index[report["status"] == "inspect on arrival"]) == set(inspect.index[inspect])


def test_excursion_share_per_cargo_class() -> None:
    readings = _judged()
    on_time = readings[~readings["late"]]
    cargo = pd.cut(on_time["setpoint_c"], [-100, 0, 10, 100], right=False,
                   labels=["frozen", "chilled", "tropical fruit"]).astype(str)
    hours = on_time.assign(cargo=cargo).groupby(["cargo", "shipment_id", "hour"])["excursion"].any()
    share = hours.groupby("cargo").mean()
    by_cargo = run_showcase("reefer-excursions").published("by_cargo").set_index("cargo")
    assert by_cargo["excursion_share"].to_dict() == pytest.approx(share.to_dict(), abs=0.00005)
