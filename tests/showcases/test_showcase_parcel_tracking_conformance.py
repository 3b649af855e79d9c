"""The parcel-tracking-conformance showcase's daily attempts and failure rates against a few lines of plain pandas
over the three carriers' raw feeds (its events set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

STATUS = ["picked_up", "in_transit", "out_for_delivery", "delivered", "failed_attempt"]
SWIFT, KESTREL = ["PU", "IT", "OD", "DL", "EX"], ["10", "20", "30", "40", "90"]


def _conformed_by_hand(data: Path) -> pd.DataFrame:
    swift = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in sorted(data.glob("swift_events/*/*.jsonl"))],
                      ignore_index=True)
    weight = swift["weight_kg"].combine_first(swift["parcel_weight_kg"]) if "parcel_weight_kg" in swift \
        else swift["weight_kg"]
    swift = pd.DataFrame({"event_id": swift["event_id"], "weight_kg": weight, "area_code": swift["area"],
                          "time": pd.to_datetime(swift["event_time"], utc=True),
                          "status": swift["event_code"].map(dict(zip(SWIFT, STATUS, strict=True)))})
    north = pd.read_csv(data / "northline_events.csv", keep_default_na=False, na_values=[""])
    words = ["Collected", "In transit", "Out for delivery", "Delivered", "Delivery failed"]
    north = pd.DataFrame({"event_id": north["scan_id"], "weight_kg": north["weight_lb"] * 0.45359237,
                          "area_code": north["depot_area"], "time": pd.to_datetime(north["scanned_at"], utc=True),
                          "status": north["status"].map(dict(zip(words, STATUS, strict=True)))})
    kestrel = pd.read_json(data / "kestrel_events.jsonl", lines=True, dtype=False)
    kestrel = pd.DataFrame({"event_id": kestrel["id"], "weight_kg": kestrel["grams"] / 1000,
                            "area_code": kestrel["zone"], "time": pd.to_datetime(kestrel["ts"], unit="s", utc=True),
                            "status": kestrel["code"].map(dict(zip(KESTREL, STATUS, strict=True)))})
    events = pd.concat([swift.assign(carrier="swiftpost"), north.assign(carrier="northline"),
                        kestrel.assign(carrier="kestrel")], ignore_index=True).drop_duplicates("event_id")
    week = events["time"].between(pd.Timestamp("2026-01-05", tz="UTC"), pd.Timestamp("2026-01-12", tz="UTC"),
                                  inclusive="left")
    good = events["status"].notna() & (events["weight_kg"] > 0) & (events["weight_kg"] <= 30) & week
    areas = pd.read_json(data / "areas.jsonl", lines=True)
    return events[good].merge(areas, on="area_code")


def test_daily_attempts_and_failures_equal_plain_pandas_over_the_raw_feeds() -> None:
    run = run_showcase("parcel-tracking-conformance")
    events = _conformed_by_hand(run.data)
    events["day"] = events["time"].dt.strftime("%Y-%m-%d")
    events["attempt"] = events["status"].isin(["delivered", "failed_attempt"])
    events["failed"] = events["status"] == "failed_attempt"
    expected = events.groupby(["day", "carrier"]).agg(events=("event_id", "size"), attempts=("attempt", "sum"),
                                                      failed=("failed", "sum"), weight=("weight_kg", "mean"))
    daily = run.published("daily").set_index(["day", "carrier"]).sort_index()
    assert daily.index.tolist() == expected.index.tolist()
    assert daily["events"].tolist() == expected["events"].tolist()
    assert daily["attempts"].tolist() == expected["attempts"].tolist()
    assert daily["failed"].tolist() == expected["failed"].tolist()
    assert (daily["failure_rate"] - expected["failed"] / expected["attempts"]).abs().max() < 1e-4
    assert (daily["mean_weight_kg"] - expected["weight"]).abs().max() < 1e-3  # kg, whatever the carrier sent

    by_city = run.published("by_city").set_index(["carrier", "city"])
    per_city = events.groupby(["carrier", "city"])[["attempt", "failed"]].sum()
    assert by_city["attempts"].to_dict() == per_city["attempt"].to_dict()
    assert by_city["failed"].to_dict() == per_city["failed"].to_dict()


def test_the_conformed_feed_is_in_event_time_and_speaks_one_vocabulary() -> None:
    run = run_showcase("parcel-tracking-conformance")
    published = run.published("events")
    times = pd.to_datetime(published["event_time"], utc=True)
    assert times.is_monotonic_increasing
    assert set(published["status"]) <= set(STATUS)
    assert set(published["carrier"]) == {"swiftpost", "northline", "kestrel"}
    assert set(run.published("set_aside")["set_aside_as"]) <= {"duplicate", "unknown_area"}
