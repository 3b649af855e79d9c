"""The delivery-times showcase's on-time rate per carrier and day against a few lines of plain pandas over the
raw JSON lines files, with the watermark worked out by hand (its scans set aside are held to the generator's
manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def test_on_time_rate_per_carrier_and_day_equals_plain_pandas() -> None:
    run = run_showcase("delivery-times")
    scans = pd.read_json(run.data / "scans.jsonl", lines=True, dtype=False)
    scans[["delivered_at", "received_at"]] = scans[["delivered_at", "received_at"]].apply(pd.to_datetime)
    shipments = pd.read_json(run.data / "shipments.jsonl", lines=True)
    carriers = pd.read_json(run.data / "carriers.jsonl", lines=True)
    scans = scans.drop_duplicates("scan_id")
    scans = scans[scans["transit_hours"].between(1, 240)]
    scans = scans.merge(shipments, on="shipment_id").merge(carriers, on="carrier_code")
    # A scan is late when, before the hour it arrived in, scans up to its day's end plus 6 hours had been seen.
    hour = scans["received_at"].dt.floor("h")
    newest_by_hour = scans.groupby(hour)["delivered_at"].max().cummax()
    seen_before = hour.map(newest_by_hour.shift())  # NaT in the first hour: nothing is late then
    day_end = scans["delivered_at"].dt.floor("D") + pd.Timedelta("1D")
    late = day_end <= seen_before - pd.Timedelta("6h")
    assert sorted(run.published("late_scans")["scan_id"]) == sorted(scans.loc[late, "scan_id"])

    counted = scans[~late].assign(day=scans["delivered_at"].dt.strftime("%Y-%m-%d"),
                                  on_time=scans["transit_hours"] <= scans["promised_hours"])
    expected = counted.groupby(["carrier_code", "day"]).agg(deliveries=("scan_id", "size"),
                                                            on_time=("on_time", "sum")).reset_index()
    published = run.published("by_day")
    assert published[["carrier_code", "day", "deliveries", "on_time"]].values.tolist() == expected.values.tolist()
    rate = (expected["on_time"] / expected["deliveries"]).round(4)
    assert (published["on_time_rate"] - rate).abs().max() < 1e-9
