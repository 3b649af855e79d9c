"""iot.conform against the spec's Conform step and resolved details 1-9, on hand-made frames."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_iot.conform import conform, heard_of, repeated_pairs, rows_where
from kernel_iot.uptime import positions

from kernel import DataError, StepSettingsError

T0 = pd.Timestamp("2024-03-05T10:00:00Z")
MIN = pd.Timedelta("1min")
UTC_MS = "datetime64[ms, UTC]"


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def telemetry(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows shaped as iot.ingest writes them; each row names what differs from a good record."""
    base = {"device_id": "d1", "seq": 1, "event_time": at(0), "status": "ONLINE", "firmware_version": "1.2.3",
            "temperature_c": 20.0, "battery_pct": 80.0, "rssi_dbm": -70, "source_file": "a.avro"}
    full = []
    for index, row in enumerate(rows):
        record = {**base, **row}
        if "ingest_time" not in record:
            record["ingest_time"] = (record["event_time"] if pd.notna(record["event_time"]) else T0) + pd.Timedelta(
                "10s")
        full.append({**record, "row": row.get("row", index)})
    frame = pd.DataFrame(full)
    frame["device_id"] = frame["device_id"].astype("category")
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True).astype(UTC_MS)
    frame["ingest_time"] = pd.to_datetime(frame["ingest_time"], utc=True).astype(UTC_MS)
    frame["status"] = pd.Categorical(frame["status"], categories=["ONLINE", "DEGRADED", "OFFLINE"])
    frame["firmware_version"] = frame["firmware_version"].astype("str")
    frame["rssi_dbm"] = frame["rssi_dbm"].astype("Int64")
    frame["source_file"] = frame["source_file"].astype("category")
    frame["seq"] = frame["seq"].astype("int64")
    frame["row"] = frame["row"].astype("int64")
    return frame[["device_id", "seq", "event_time", "ingest_time", "status", "firmware_version", "temperature_c",
                  "battery_pct", "rssi_dbm", "source_file", "row"]]


def registry(rows: list[tuple[str, str, str | None]] | None = None) -> pd.DataFrame:
    rows = rows if rows is not None else [("d1", "2024-01-01T00:00Z", None), ("d2", "2024-01-01T00:00Z", None)]
    frame = pd.DataFrame(rows, columns=["device_id", "installed_at", "decommissioned_at"])
    for column in ("installed_at", "decommissioned_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(UTC_MS)
    return frame.assign(model="M", site="S")[["device_id", "model", "site", "installed_at", "decommissioned_at"]]


def events(rows: list[tuple[str, str, float]] | None = None) -> pd.DataFrame:
    rows = rows or []
    return pd.DataFrame({
        "event_id": pd.Series([r[0] for r in rows], dtype="str"),
        "device_id": pd.Series([r[1] for r in rows], dtype="str"),
        "event_time": pd.Series([at(r[2]) for r in rows], dtype=UTC_MS),
        "ingest_time": pd.Series([at(r[2] + 1) for r in rows], dtype=UTC_MS),
        "event_type": pd.Categorical(["REBOOT"] * len(rows), categories=["FIRMWARE_UPDATE", "REBOOT"]),
        "to_version": pd.Series([None] * len(rows), dtype=object),
        "success": pd.array([None] * len(rows), dtype="boolean"),
    })


def run(tele: pd.DataFrame, devices: pd.DataFrame | None = None, evts: pd.DataFrame | None = None,
        **settings: Any) -> dict[str, pd.DataFrame]:
    inputs = {"telemetry": tele, "events": evts if evts is not None else events(),
              "devices": devices if devices is not None else registry()}
    return dict(conform(inputs, **settings))


def keys(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in frame[list(columns)].astype(object).itertuples(index=False)]


def test_detail1_first_arrival_is_smallest_ingest_time_then_file_name_then_row() -> None:
    tele = telemetry([
        {"seq": 1, "ingest_time": at(3), "source_file": "a.avro", "row": 0},  # later arrival
        {"seq": 1, "ingest_time": at(2), "source_file": "b.avro", "row": 0},  # kept: smallest ingest_time
        {"seq": 2, "ingest_time": at(2), "source_file": "b.avro", "row": 1},
        {"seq": 2, "ingest_time": at(2), "source_file": "a.avro", "row": 5},  # kept: file name a < b
        {"seq": 3, "ingest_time": at(2), "source_file": "a.avro", "row": 7},
        {"seq": 3, "ingest_time": at(2), "source_file": "a.avro", "row": 6},  # kept: row 6 < 7
        {"seq": 3, "device_id": "d2", "ingest_time": at(9)},  # another device's seq 3: not a copy
    ])
    out = run(tele)
    assert keys(out["telemetry"], "device_id", "seq", "source_file", "row") == [
        ("d1", 1, "b.avro", 0), ("d1", 2, "a.avro", 5), ("d1", 3, "a.avro", 6), ("d2", 3, "a.avro", 6)]
    assert keys(out["duplicates"], "seq", "source_file", "row") == [(1, "a.avro", 0), (2, "b.avro", 1),
                                                                    (3, "a.avro", 7)]
    assert out["counts"]["duplicates"].iloc[0] == 3


def test_detail1_dedup_first_then_the_future_check_uses_the_kept_copys_ingest_time() -> None:
    # Measured at 10:06; the first copy arrived at 10:00 (6 min early: future), the second at 10:02 (valid).
    tele = telemetry([{"event_time": at(6), "ingest_time": at(0)}, {"event_time": at(6), "ingest_time": at(2)}])
    out = run(tele, period_end=datetime(2024, 3, 6))
    assert len(out["telemetry"]) == 0
    assert out["quarantine_telemetry"]["reason"].tolist() == ["future_event_time"]
    assert out["quarantine_telemetry"]["ingest_time"].tolist() == [at(0)]
    assert out["duplicates"]["ingest_time"].tolist() == [at(2)]  # a duplicate, not quarantined


def test_detail2_first_reason_in_priority_order() -> None:
    devices = registry([("d1", "2024-01-01T00:00Z", None), ("gone", "2024-01-01T00:00Z", "2024-03-01T00:00Z")])
    tele = telemetry([
        {"seq": 1, "event_time": pd.NaT, "firmware_version": "x", "device_id": "ghost"},
        {"seq": 2, "event_time": at(10), "ingest_time": at(0), "firmware_version": "x", "device_id": "ghost"},
        {"seq": 3, "firmware_version": "v1.0.0", "device_id": "ghost"},
        {"seq": 4, "device_id": "ghost"},
        {"seq": 5, "device_id": "gone"},
        {"seq": 6},
    ])
    out = run(tele, devices)
    assert out["quarantine_telemetry"]["reason"].tolist() == [
        "bad_event_time", "future_event_time", "bad_firmware_version", "unknown_device", "decommissioned"]
    assert out["telemetry"]["seq"].tolist() == [6]


@pytest.mark.parametrize(("version", "valid"), [
    ("1.2.3", True), ("3.10.2", True), ("10.0.0", True), ("v1.2.3", False), ("1.2", False), ("1.2.3-beta", False),
    ("1.2.3.4", False), (" 1.2.3", False), ("1.2.3\n", False), ("", False), ("a.b.c", False)])
def test_detail3_valid_version_is_three_numbers(version: str, valid: bool) -> None:
    out = run(telemetry([{"firmware_version": version}]), period_end=datetime(2024, 3, 6))
    assert len(out["telemetry"]) == int(valid)
    assert out["quarantine_telemetry"]["reason"].tolist() == ([] if valid else ["bad_firmware_version"])


def test_detail4_future_is_strict_exactly_five_minutes_is_valid() -> None:
    tele = telemetry([{"seq": 1, "event_time": at(5), "ingest_time": at(0)},
                      {"seq": 2, "event_time": at(5) + pd.Timedelta("1ms"), "ingest_time": at(0)},
                      {"seq": 3, "event_time": at(-60), "ingest_time": at(0)}])  # old is not future
    out = run(tele)
    assert out["telemetry"]["seq"].tolist() == [1, 3]
    assert keys(out["quarantine_telemetry"], "seq", "reason") == [(2, "future_event_time")]


def test_detail5_only_conformed_records_go_on_with_online_flag() -> None:
    tele = telemetry([{"seq": 1, "status": "ONLINE"}, {"seq": 2, "status": "DEGRADED"},
                      {"seq": 3, "status": "OFFLINE"}, {"seq": 3, "status": "OFFLINE", "ingest_time": at(1)},
                      {"seq": 4, "event_time": pd.NaT}])
    out = run(tele)
    conformed = out["telemetry"]
    assert conformed["seq"].tolist() == [1, 2, 3]
    assert conformed["online"].tolist() == [1, 1, 0] and str(conformed["online"].dtype) == "int8"
    assert set(tele.columns) < set(conformed.columns)
    counts = out["counts"].iloc[0]
    assert counts["telemetry_in"] == 5 == counts["conformed"] + counts["quarantined"] + counts["duplicates"]


def test_detail6_default_period_ends_the_day_after_the_newest_conformed_event() -> None:
    tele = telemetry([{"seq": 1, "event_time": pd.Timestamp("2024-03-07T13:00Z")},
                      {"seq": 2, "event_time": pd.Timestamp("2024-03-09T01:00Z"),  # quarantined: not counted
                       "ingest_time": pd.Timestamp("2024-03-08T00:00Z")}])
    period = run(tele)["period"]
    assert period["period_end"].tolist() == [pd.Timestamp("2024-03-08T00:00Z")]
    assert period["period_start"].tolist() == [pd.Timestamp("2024-03-01T00:00Z")]
    assert str(period["period_end"].dtype) == UTC_MS


def test_detail6_an_event_exactly_at_midnight_opens_the_next_day() -> None:
    period = run(telemetry([{"event_time": pd.Timestamp("2024-03-07T00:00Z")}]), refresh="1d")["period"]
    assert keys(period, "period_start", "period_end") == [(pd.Timestamp("2024-03-07T00:00Z"),
                                                           pd.Timestamp("2024-03-08T00:00Z"))]


def test_period_end_setting_naive_is_utc_and_offsets_are_converted() -> None:
    tele = telemetry([{}])
    naive = run(tele, period_end=datetime(2024, 3, 10))["period"]
    assert naive["period_end"].tolist() == [pd.Timestamp("2024-03-10T00:00Z")]
    offset = run(tele, period_end=datetime.fromisoformat("2024-03-10T02:00:00+02:00"), refresh="2d")["period"]
    assert keys(offset, "period_start", "period_end") == [(pd.Timestamp("2024-03-08T00:00Z"),
                                                           pd.Timestamp("2024-03-10T00:00Z"))]


def test_refresh_must_be_a_positive_duration() -> None:
    with pytest.raises(StepSettingsError, match="refresh"):
        run(telemetry([{}]), refresh="soon")


def test_detail7_events_get_only_the_device_checks_and_no_dedup() -> None:
    devices = registry([("d1", "2024-01-01T00:00Z", None), ("gone", "2024-01-01T00:00Z", "2024-03-05T10:00Z")])
    evts = events([("e1", "d1", 0), ("e1", "d1", 0), ("e2", "ghost", 0), ("e3", "gone", -0.001),
                   ("e4", "gone", 0)])
    evts.loc[1, "event_time"] = at(999)  # far in the future: events have no future check
    out = run(telemetry([{}]), devices, evts)
    assert out["events"]["event_id"].tolist() == ["e1", "e1", "e3"]
    assert keys(out["quarantine_events"], "event_id", "reason") == [("e2", "unknown_device"),
                                                                     ("e4", "decommissioned")]


def test_detail8_repeated_registry_id_keeps_its_first_row() -> None:
    devices = registry([("d1", "2024-01-01T00:00Z", "2024-03-05T09:00Z"), ("d1", "2024-01-01T00:00Z", None)])
    out = run(telemetry([{}]), devices, period_end=datetime(2024, 3, 6))
    assert len(out["devices"]) == 1
    assert out["quarantine_telemetry"]["reason"].tolist() == ["decommissioned"]  # the first row's date


def test_detail9_telemetry_before_installed_at_is_conformed() -> None:
    devices = registry([("d1", "2024-03-06T00:00Z", None)])
    out = run(telemetry([{"event_time": at(0)}]), devices)
    assert len(out["telemetry"]) == 1 and len(out["quarantine_telemetry"]) == 0


def test_decommissioned_at_is_inclusive() -> None:
    devices = registry([("d1", "2024-01-01T00:00Z", "2024-03-05T10:00Z")])
    out = run(telemetry([{"seq": 1, "event_time": at(0) - pd.Timedelta("1ms")}, {"seq": 2, "event_time": at(0)}]),
              devices)
    assert out["telemetry"]["seq"].tolist() == [1]
    assert keys(out["quarantine_telemetry"], "seq", "reason") == [(2, "decommissioned")]


def test_unknown_device_flood_is_all_quarantined_and_counts_add_up() -> None:
    rows = [{"device_id": f"ghost{i % 7}", "seq": i, "event_time": at(i)} for i in range(50)]
    rows += [{"device_id": "ghost1", "seq": 1, "event_time": at(1), "ingest_time": at(30)}]  # a late copy
    out = run(telemetry(rows), registry(), period_end=datetime(2024, 3, 6))
    quarantine = out["quarantine_telemetry"]
    assert len(out["telemetry"]) == 0 and len(quarantine) == 50
    assert set(quarantine["reason"]) == {"unknown_device"}
    counts = out["counts"].iloc[0]
    assert (counts["telemetry_in"], counts["duplicates"], counts["quarantined"], counts["conformed"]) == (51, 1, 50, 0)
    assert counts["telemetry_in"] == counts["duplicates"] + counts["quarantined"] + counts["conformed"]


def test_unknown_device_flood_without_period_end_stops_with_one_line() -> None:
    with pytest.raises(DataError, match="no conformed telemetry") as info:
        run(telemetry([{"device_id": "ghost"}]))
    assert "\n" not in str(info.value)


def test_a_streams_batch_has_no_period_so_an_all_quarantined_file_goes_on() -> None:
    # refresh: null (a stream's file): no period row, and a file whose readings are all quarantined is no error.
    out = run(telemetry([{"device_id": "ghost"}]), refresh=None)
    assert out["period"].empty and list(out["period"].columns) == ["period_start", "period_end", "newest_event_time"]
    assert keys(out["quarantine_telemetry"], "device_id", "reason") == [("ghost", "unknown_device")]


def test_inputs_are_not_modified() -> None:
    tele = telemetry([{"seq": 1}, {"seq": 1, "ingest_time": at(1)}, {"seq": 2, "firmware_version": "x"}])
    before = tele.copy()
    run(tele)
    pd.testing.assert_frame_equal(tele, before)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-1, 5), st.integers(-3, 40)), max_size=80),
    st.sampled_from([0, 1, 2**40, -(2**62), 2**62]),
    st.booleans(),
)
def test_repeated_pairs_are_the_pairs_pandas_finds_more_than_once(
    pairs: list[tuple[int, int]], shift: int, spread: bool
) -> None:
    # Dense sequence numbers (counted) and sparse or huge ones (hashed), devices with no id (-1) among them.
    dev = np.array([d for d, _ in pairs], dtype=np.int64)
    seq = np.array([s * (10**9 if spread else 1) for _, s in pairs], dtype=np.int64) + np.int64(shift)
    key, repeated = repeated_pairs(dev, seq)
    expected = pd.DataFrame({"dev": dev, "seq": seq}).duplicated(keep=False).to_numpy()
    assert repeated.tolist() == np.flatnonzero(expected).tolist()
    # The key tells the pairs apart exactly.
    assert len(set(key.tolist())) == len(set(zip(dev.tolist(), seq.tolist(), strict=True)))
    assert all((key[i] == key[j]) == (pairs[i] == pairs[j]) for i in range(len(pairs)) for j in range(i))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["ONLINE", "DEGRADED", "OFFLINE", None]),
                          st.one_of(st.none(), st.integers(-3, 3))), max_size=30))
def test_rows_where_and_the_online_lookup_agree_with_pandas(rows: list[tuple[bool, str | None, int | None]]) -> None:
    mask = np.array([r[0] for r in rows], dtype=bool)
    frame = pd.DataFrame({
        "status": pd.Series([r[1] for r in rows], dtype=pd.CategoricalDtype(["ONLINE", "DEGRADED", "OFFLINE"])),
        "text": pd.Series([r[1] for r in rows], dtype="str"),
        "n": pd.Series([r[2] for r in rows], dtype="Int64"),
        "t": pd.to_datetime([None if r[2] is None else r[2] * 10**9 for r in rows], utc=True).as_unit("ms"),
        "x": np.arange(len(rows), dtype=np.float64),
    })
    pd.testing.assert_frame_equal(rows_where(frame, mask), frame[mask].reset_index(drop=True))
    for column in ("status", "text"):
        online = positions(pd.Index(["ONLINE", "DEGRADED"]), frame[column]) >= 0
        assert online.tolist() == frame[column].isin(("ONLINE", "DEGRADED")).tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3", None]), st.sampled_from(["1.0.0", "1.2.0", None]),
                          st.integers(-3, 6)), max_size=40), st.booleans(), st.booleans())
def test_heard_is_a_groupby_of_the_conformed_telemetry(rows: list[tuple[str | None, str | None, int]],
                                                        with_period: bool, categorical: bool) -> None:
    start = pd.Timestamp("2024-03-01T00:00Z")
    versions = [r[1] for r in rows]
    # as ingest reads it (categorical, with categories no conformed record has: quarantined ones), or as text
    firmware = pd.Series(pd.Categorical(versions, categories=["0.9", "1.2.0", "1.0.0"]) if categorical
                         else pd.array(versions, dtype="str"))
    frame = pd.DataFrame({"device_id": pd.Categorical([r[0] for r in rows]),
                          "firmware_version": firmware,
                          "event_time": pd.Series([start + pd.Timedelta(days=r[2]) for r in rows],
                                                  dtype="datetime64[ms, UTC]")})
    period = pd.DataFrame({"period_start": [start], "period_end": [start + pd.Timedelta("3D")]}).astype(
        "datetime64[ms, UTC]")
    got = heard_of(frame, period if with_period else period.iloc[:0])
    # plain pandas: one row per (device_id, firmware_version) seen, nulls a group of their own
    inside = frame["event_time"].between(start, start + pd.Timedelta("3D"), inclusive="left") if with_period \
        else pd.Series(True, index=frame.index)
    groups = frame.assign(inside=inside.astype(int)).astype({"device_id": object, "firmware_version": object})
    want = groups.groupby(["device_id", "firmware_version"], dropna=False, sort=False).agg(
        records_in_period=("inside", "sum"), last_event_time=("event_time", "max")).reset_index()

    def rows_of(f: pd.DataFrame) -> list[tuple[Any, ...]]:
        text = [f[c].astype(object).where(f[c].notna(), None) for c in ("device_id", "firmware_version")]
        return sorted(zip(*text, f["records_in_period"].astype(int), f["last_event_time"], strict=True), key=repr)

    assert rows_of(got) == rows_of(want)
    assert list(got.columns) == ["device_id", "firmware_version", "records_in_period", "last_event_time"]


def test_telemetry_handed_over_is_let_go_a_column_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import weakref

    import kernel_iot.conform

    from kernel.steps import HandedInputs

    rows = [{"seq": i, "event_time": at(i)} for i in range(50)] + [{"seq": 3, "event_time": at(3)}]  # 1 duplicate
    tele = telemetry(rows)
    owners = []
    for name in ("seq", "temperature_c", "row"):
        values = tele[name].to_numpy()
        while isinstance(values.base, np.ndarray):
            values = values.base
        owners.append(weakref.ref(values))
    del values
    alive: list[int] = []
    heard = kernel_iot.conform.heard_of

    def at_the_end(*args: Any) -> pd.DataFrame:
        alive.append(sum(ref() is not None for ref in owners))
        return heard(*args)

    monkeypatch.setattr(kernel_iot.conform, "heard_of", at_the_end)
    handed = HandedInputs(telemetry=tele, events=events(), devices=registry())
    handed.handed = ("telemetry",)
    del tele
    given = dict(conform(handed))
    assert alive == [0]  # the input's columns went as the conformed rows were taken
    whole = run(telemetry(rows))
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(given[name], frame, check_exact=True)
    assert len(given["duplicates"]) == 1 and len(given["telemetry"]) == 50
