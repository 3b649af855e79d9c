"""iot.reconcile: silent devices (detail 15), events of unknown devices, firmware mismatches (detail 12)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_iot.conform import heard_of
from kernel_iot.reconcile import _differ, latest_before, reconcile

from kernel import StepSettingsError

START = pd.Timestamp("2024-03-01T00:00Z")
END = START + pd.Timedelta("2D")
UTC_MS = "datetime64[ms, UTC]"


def at(text: str) -> pd.Timestamp:
    """'1 10:00:30' = day 1 of the period, 10:00:30."""
    day, clock = text.split(" ")
    return START + pd.Timedelta(days=int(day)) + pd.Timedelta(clock)


def registry(rows: list[tuple[str, pd.Timestamp | None, pd.Timestamp | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["device_id", "installed_at", "decommissioned_at"])
    for column in ("installed_at", "decommissioned_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(UTC_MS)
    return frame.assign(model="M", site="S")[["device_id", "model", "site", "installed_at", "decommissioned_at"]]


def telemetry(rows: list[tuple[str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame({"device_id": pd.Categorical([r[0] for r in rows]),
                         "event_time": pd.Series([r[1] for r in rows], dtype=UTC_MS),
                         "firmware_version": pd.Series(["1.0.0"] * len(rows), dtype="str")})


def windows(rows: list[tuple[str, pd.Timestamp, str]]) -> pd.DataFrame:
    """(device, last_event_time, last firmware) -> a window.tumbling-shaped row."""
    last = pd.Series([r[1] for r in rows], dtype=UTC_MS)
    start = last.dt.floor("min").astype("datetime64[ns, UTC]")
    return pd.DataFrame({"device_id": pd.Categorical([r[0] for r in rows]), "window_start": start,
                         "window_end": start + pd.Timedelta("1min"), "records": 1,
                         "last_firmware_version": pd.Series([r[2] for r in rows], dtype="str"),
                         "last_event_time": last, "emit_kind": pd.Categorical(["watermark"] * len(rows))})


def events(rows: list[tuple[str, str, pd.Timestamp, str, str | None, bool | None]]) -> pd.DataFrame:
    """(event_id, device, event_time, event_type, to_version, success)."""
    return pd.DataFrame({
        "event_id": pd.Series([r[0] for r in rows], dtype="str"),
        "device_id": pd.Series([r[1] for r in rows], dtype="str"),
        "event_time": pd.Series([r[2] for r in rows], dtype=UTC_MS),
        "ingest_time": pd.Series([r[2] + pd.Timedelta("1s") for r in rows], dtype=UTC_MS),
        "event_type": pd.Categorical([r[3] for r in rows], categories=["FIRMWARE_UPDATE", "REBOOT"]),
        "to_version": pd.Series([r[4] for r in rows], dtype=object),
        "success": pd.array([r[5] for r in rows], dtype="boolean"),
    })


def period() -> pd.DataFrame:
    return pd.DataFrame({"period_start": [START], "period_end": [END]}).astype(UTC_MS)


def run(devices: pd.DataFrame | None = None, tele: pd.DataFrame | None = None, wins: pd.DataFrame | None = None,
        evts: pd.DataFrame | None = None, quarantine: pd.DataFrame | None = None, **settings: Any
        ) -> dict[str, pd.DataFrame]:
    inputs = {
        "devices": devices if devices is not None else registry([("d1", at("-9 00:00:00"), None)]),
        "heard": heard_of(tele if tele is not None else telemetry([]), period()),
        "windows": wins if wins is not None else windows([]),
        "events": evts if evts is not None else events([]),
        "period": period(),
        "quarantine_events": quarantine if quarantine is not None else events([]).assign(
            reason=pd.Categorical([], categories=["unknown_device", "decommissioned"])),
    }
    return dict(reconcile(inputs, **settings))


def test_detail15_silent_means_in_service_in_the_period_and_no_conformed_telemetry_in_it() -> None:
    long_ago = at("-30 00:00:00")
    devices = registry([
        ("quiet", long_ago, None),                               # silent
        ("talks", long_ago, None),                               # telemetry in the period
        ("before", long_ago, None),                              # telemetry only before the period: silent
        ("retired", long_ago, at("-1 00:00:00")),                # not in service in the period
        ("future", END, None),                                   # installed at period end: no window
        ("brief", long_ago, at("0 00:00:30")),                   # 00:00 + 1min > decommissioned: no window
        ("one", long_ago, at("0 00:01:00")),                     # exactly one in-service window: silent
        ("late-install", at("1 23:59:00"), None),                # the period's last window: silent
        ("never", None, None),                                   # no installed_at: never in service
    ])
    tele = telemetry([("talks", at("1 12:00:00")), ("before", at("-1 23:59:59")), ("talks", at("-2 00:00:00")),
                      ("ghost", at("0 10:00:00")), ("future", at("2 00:00:00"))])
    out = run(devices, tele)
    silent = out["silent_devices"]
    assert silent["device_id"].tolist() == ["quiet", "before", "one", "late-install"]
    assert silent["in_service_windows"].tolist() == [2880, 2880, 1, 1]
    assert silent["last_event_time"].tolist()[1] == at("-1 23:59:59")
    assert pd.isna(silent["last_event_time"].iloc[0])
    summary = out["summary"].iloc[0]
    assert summary["silent_devices"] == 4 and summary["devices_in_service"] == 5


def test_silent_in_service_counts_follow_the_window_setting() -> None:
    devices = registry([("d1", at("0 00:30:00"), at("0 03:00:00"))])
    out = run(devices, window="1h")
    assert out["silent_devices"]["in_service_windows"].tolist() == [2]  # 01:00 and 02:00
    with pytest.raises(StepSettingsError, match="window"):
        run(devices, window="soon")


def test_unknown_device_events_come_from_conforms_quarantine() -> None:
    quarantined = events([("e1", "ghost", at("0 01:00:00"), "REBOOT", None, None),
                          ("e2", "old", at("0 02:00:00"), "REBOOT", None, None),
                          ("e3", "ghost", at("0 03:00:00"), "REBOOT", None, None),
                          ("e4", "ghost2", at("0 03:00:00"), "REBOOT", None, None)])
    quarantined["reason"] = pd.Categorical(["unknown_device", "decommissioned", "unknown_device", "unknown_device"],
                                           categories=["unknown_device", "decommissioned"])
    out = run(quarantine=quarantined)
    assert out["unknown_device_events"]["event_id"].tolist() == ["e1", "e3", "e4"]
    assert "reason" not in out["unknown_device_events"].columns
    summary = out["summary"].iloc[0]
    assert (summary["unknown_device_events"], summary["unknown_event_devices"]) == (3, 2)


def test_detail12_mismatch_against_the_latest_successful_update_at_or_before_the_window() -> None:
    devices = registry([("d1", at("-9 00:00:00"), None), ("d2", at("-9 00:00:00"), None)])
    evts = events([
        ("u1", "d1", at("0 10:00:00"), "FIRMWARE_UPDATE", "2.0.0", True),
        ("u2", "d1", at("0 11:00:00"), "FIRMWARE_UPDATE", "3.0.0", False),   # failed: does not count
        ("u3", "d1", at("0 12:00:00"), "FIRMWARE_UPDATE", "4.0.0", None),    # unknown outcome: does not count
        ("r1", "d1", at("0 13:00:00"), "REBOOT", None, None),
        ("u4", "d1", at("0 14:00:00"), "FIRMWARE_UPDATE", "5.0.0", True),
    ])
    wins = windows([
        ("d1", at("0 09:59:59"), "1.0.0"),   # no earlier update: never a mismatch
        ("d1", at("0 10:00:00"), "1.0.0"),   # update at exactly the last record: compared -> mismatch (2.0.0)
        ("d1", at("0 10:30:00"), "2.0.0"),   # matches 2.0.0
        ("d1", at("0 11:30:00"), "3.0.0"),   # the failed update's version: mismatch against 2.0.0
        ("d1", at("0 12:30:00"), "2.0.0"),   # u3 has no success: still 2.0.0
        ("d1", at("0 14:00:00"), "5.0.0"),   # matches u4
        ("d1", at("1 00:00:00"), "2.0.0"),   # mismatch against u4
        ("d1", at("2 00:00:00"), "1.0.0"),   # outside the period: not checked
        ("d2", at("0 15:00:00"), "9.9.9"),   # no update of d2 at all
    ])
    out = run(devices, wins=wins, evts=evts)
    found = out["firmware_mismatches"]
    assert list(zip(found["last_event_time"], found["last_firmware_version"], found["expected_version"],
                    found["update_event_id"], strict=True)) == [
        (at("0 10:00:00"), "1.0.0", "2.0.0", "u1"), (at("0 11:30:00"), "3.0.0", "2.0.0", "u1"),
        (at("1 00:00:00"), "2.0.0", "5.0.0", "u4")]
    assert found["window_start"].tolist() == [at("0 10:00:00"), at("0 11:30:00"), at("1 00:00:00")]
    summary = out["summary"].iloc[0]
    assert (summary["firmware_mismatches"], summary["mismatched_devices"], summary["windows_checked"]) == (3, 1, 8)


def test_detail12_updates_at_the_same_time_the_later_ingested_one_wins() -> None:
    evts = events([("u1", "d1", at("0 10:00:00"), "FIRMWARE_UPDATE", "2.0.0", True),
                   ("u2", "d1", at("0 10:00:00"), "FIRMWARE_UPDATE", "2.1.0", True)])
    evts.loc[0, "ingest_time"] = at("0 10:05:00")  # u1 reached the platform last
    out = run(wins=windows([("d1", at("0 10:30:00"), "2.1.0")]), evts=evts)
    assert out["firmware_mismatches"]["expected_version"].tolist() == ["2.0.0"]


def test_a_re_emitted_window_is_checked_once_in_its_last_emission() -> None:
    evts = events([("u1", "d1", at("0 10:00:00"), "FIRMWARE_UPDATE", "2.0.0", True)])
    wins = windows([("d1", at("0 10:30:00"), "1.0.0"), ("d1", at("0 10:30:10"), "2.0.0")])
    wins["emit_kind"] = pd.Categorical(["watermark", "upsert"])
    out = run(wins=wins, evts=evts)
    assert len(out["firmware_mismatches"]) == 0 and out["summary"]["windows_checked"].iloc[0] == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.integers(0, 40)), max_size=40),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), max_size=12), st.booleans())
def test_the_latest_update_at_or_before_is_what_a_loop_finds(records: list[tuple[int, int]],
                                                              updates: list[tuple[int, int]], far: bool) -> None:
    # `far` puts the times too far apart for one int64 key: the merge_asof path answers
    scale = 2**57 if far else 1
    dev = np.array([d for d, _ in records], dtype=np.int64)
    t = np.array([v * scale for _, v in records], dtype=np.int64)
    update_dev = np.array([d for d, _ in updates], dtype=np.int64)
    update_t = np.array([v * scale for _, v in updates], dtype=np.int64)
    expected: dict[int, int] = {}
    for i, (d, v) in enumerate(zip(dev.tolist(), t.tolist(), strict=True)):
        earlier = [j for j, (e, u) in enumerate(zip(update_dev.tolist(), update_t.tolist(), strict=True))
                   if e == d and u <= v]
        if earlier:  # the latest time; of several at that time, the last in the updates' order
            expected[i] = max(earlier, key=lambda j: (int(update_t[j]), j))
    found, update = latest_before(dev, t, update_dev, update_t)
    assert dict(zip(found.tolist(), update.tolist(), strict=True)) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["1.0.0", "1.2.0", "2.0.0", None]), min_size=1, max_size=30),
       st.lists(st.sampled_from(["1.0.0", "1.2.0", "3.0.0", None]), min_size=1, max_size=5), st.data())
def test_firmware_held_as_categories_differs_where_its_text_differs(held: list[str | None],
                                                                    expected: list[str | None],
                                                                    data: st.DataObject) -> None:
    # ingest keeps firmware_version categorical; the comparison by codes must say what the text says
    rows = np.array(data.draw(st.lists(st.integers(0, len(held) - 1), max_size=20)), dtype=np.int64)
    at = np.array(data.draw(st.lists(st.integers(0, len(expected) - 1), min_size=len(rows), max_size=len(rows))),
                  dtype=np.int64)
    wanted = pd.Series(pd.array(expected, dtype="str"))
    as_text = _differ(pd.Series(pd.array(held, dtype="str")), rows, wanted, at)
    as_codes = _differ(pd.Series(pd.Categorical(held, categories=["2.0.0", "1.0.0", "1.2.0", "9.9.9"])), rows, wanted,
                       at)
    assert as_codes.tolist() == as_text.tolist()
    loop = [held[r] is None or expected[a] is None or held[r] != expected[a] for r, a in zip(rows, at, strict=True)]
    assert as_text.tolist() == loop  # a null differs
