"""iot.device_uptime against a minute-by-minute reading of the spec's step 5, written as plain loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_iot.uptime import device_uptime

from kernel import DataError, StepSettingsError

START = pd.Timestamp("2024-03-01", tz="UTC")
MIN = pd.Timedelta("1min")
DAY = pd.Timedelta("1D")


def ts(text: str) -> pd.Timestamp:
    """'1 10:00:30' = day 1 (the period's first day is day 0), 10:00:30."""
    day, clock = text.split(" ")
    return START + int(day) * DAY + pd.Timedelta(clock)


def registry(rows: Sequence[tuple[str, str, pd.Timestamp | None, pd.Timestamp | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["device_id", "model", "installed_at", "decommissioned_at"])
    for column in ("installed_at", "decommissioned_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ms, UTC]")
    return frame.assign(site="s1")


def windows(rows: Sequence[tuple[str, pd.Timestamp, int, int] | tuple[str, pd.Timestamp, int, int, str]],
            size: pd.Timedelta = MIN) -> pd.DataFrame:
    """Rows (device, window_start, records, online_records[, emit_kind]) shaped like window.tumbling's output."""
    frame = pd.DataFrame([(*r[:4], r[4] if len(r) > 4 else "watermark") for r in rows],
                         columns=["device_id", "window_start", "records", "online_records", "emit_kind"])
    frame["device_id"] = frame["device_id"].astype("category")
    frame["window_start"] = pd.to_datetime(frame["window_start"], utc=True).astype("datetime64[ns, UTC]")
    frame["window_end"] = frame["window_start"] + size
    frame["online_records"] = frame["online_records"].astype("Int64")
    frame["emit_kind"] = frame["emit_kind"].astype("category")
    return frame


def period(days: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"period_start": [START], "period_end": [START + days * DAY]}).astype(
        "datetime64[ms, UTC]")


def reference(devices: pd.DataFrame, wins: pd.DataFrame, days: int, size: pd.Timedelta = MIN
              ) -> dict[tuple[str, pd.Timestamp], tuple[int, int]]:
    """(device, day) -> (in service, up), walking every window start of the period one by one."""
    last_emission: dict[tuple[str, pd.Timestamp], int] = {}
    for row in wins.itertuples(index=False):  # a later row is a later emission
        if row.records >= 1:
            last_emission[(str(row.device_id), row.window_start)] = int(row.online_records)
    out: dict[tuple[str, pd.Timestamp], tuple[int, int]] = {}
    for dev in devices.itertuples(index=False):
        w = START
        while w < START + days * DAY:
            installed, gone = dev.installed_at, dev.decommissioned_at
            serving = not pd.isna(installed) and installed <= w and (pd.isna(gone) or w + size <= gone)
            if serving:
                day = w.floor("D")
                service, up = out.get((dev.device_id, day), (0, 0))
                online = last_emission.get((dev.device_id, w), 0) >= 1
                out[(dev.device_id, day)] = (service + 1, up + int(online))
            w += size
    return out


DEVICES = registry([
    ("d1", "A", ts("-5 00:00:00"), None),                  # in service all along
    ("d2", "A", ts("0 10:00:30"), None),                   # installed mid-minute: first window 10:01
    ("d3", "B", ts("-1 00:00:00"), ts("1 12:00:30")),      # last in-service window starts 11:59
    ("d4", "B", ts("3 00:00:00"), None),                   # installed after the period: left out
    ("d5", "C", ts("-9 00:00:00"), ts("-1 00:00:00")),     # decommissioned before it: left out
    ("d6", "C", ts("0 12:00:00"), ts("1 06:00:00")),       # both on minute boundaries
])
WINDOWS = windows([
    ("d1", ts("0 00:00:00"), 3, 3), ("d1", ts("0 00:01:00"), 2, 0),   # the second is all OFFLINE
    ("d1", ts("0 00:05:00"), 1, 1), ("d1", ts("1 23:59:00"), 1, 1),
    ("d1", ts("-1 23:59:00"), 1, 1),                                  # before the period
    ("d1", ts("2 00:00:00"), 1, 1),                                   # at the period's end: outside
    ("d2", ts("0 09:59:00"), 4, 4),                                   # telemetry before installed_at (detail 9)
    ("d2", ts("0 10:00:00"), 1, 1),                                   # window starts before installed_at
    ("d2", ts("0 10:01:00"), 1, 1), ("d2", ts("1 08:00:00"), 2, 1),
    ("d3", ts("1 11:59:00"), 1, 1), ("d3", ts("1 12:00:00"), 1, 1),   # the second ends after decommissioning
    ("d3", ts("0 03:00:00"), 1, 1, "watermark"),
    ("d3", ts("0 03:00:00"), 2, 0, "upsert"),                         # re-emitted: the last emission counts
    ("d4", ts("1 00:00:00"), 1, 1),
    ("d6", ts("0 11:59:00"), 1, 1), ("d6", ts("0 12:00:00"), 1, 1),   # before installed_at / the first window
    ("d6", ts("1 05:59:00"), 1, 1), ("d6", ts("1 06:00:00"), 1, 1),   # the last window / after decommissioning
    ("zz", ts("0 00:00:00"), 1, 1),                                   # not in the registry
])


def _check_against_reference(out: dict[str, pd.DataFrame], devices: pd.DataFrame, wins: pd.DataFrame,
                             days: int, size: pd.Timedelta = MIN) -> None:
    expected = reference(devices, wins, days, size)
    daily = out["daily"]
    got = {(r.device_id, r.day): (r.in_service_windows, r.up_windows) for r in daily.itertuples(index=False)}
    assert got == expected
    for r in daily.itertuples(index=False):
        assert r.uptime == pytest.approx(r.up_windows / r.in_service_windows)
    per_device: dict[str, list[int]] = {}
    for (device, _), (service, up) in expected.items():
        per_device.setdefault(device, [0, 0])
        per_device[device][0] += service
        per_device[device][1] += up
    got_devices = {r.device_id: [r.in_service_windows, r.up_windows] for r in out["devices"].itertuples()}
    assert got_devices == per_device
    fleet = out["fleet"].iloc[0]
    service = sum(v[0] for v in per_device.values())
    up = sum(v[1] for v in per_device.values())
    if service:
        assert fleet["fleet_uptime_pooled"] == pytest.approx(up / service)
        mean = sum(v[1] / v[0] for v in per_device.values()) / len(per_device)
        assert fleet["fleet_uptime_mean_of_devices"] == pytest.approx(mean)
    else:
        assert pd.isna(fleet["fleet_uptime_pooled"]) and pd.isna(fleet["fleet_uptime_mean_of_devices"])
    assert (fleet["in_service_windows"], fleet["up_windows"]) == (service, up)


def test_uptime_matches_a_minute_by_minute_reading() -> None:
    out = device_uptime({"windows": WINDOWS, "devices": DEVICES, "period": period()})
    _check_against_reference(out, DEVICES, WINDOWS, days=2)


def test_hand_checked_figures_of_the_scenario() -> None:
    # Counted by hand: d2 serves 10:01..23:59 on day 0 = 839 windows, up at 10:01 only.
    # d3 serves day 1 from 00:00 to 11:59 = 720 windows, up at 11:59 only (12:00 ends after 12:00:30).
    out = device_uptime({"windows": WINDOWS, "devices": DEVICES, "period": period()})
    daily = out["daily"].set_index(["device_id", "day"])
    assert tuple(daily.loc[("d2", START), ["in_service_windows", "up_windows"]]) == (839, 1)
    assert tuple(daily.loc[("d3", START + DAY), ["in_service_windows", "up_windows"]]) == (720, 1)
    assert tuple(daily.loc[("d3", START), ["in_service_windows", "up_windows"]]) == (1440, 0)
    # d6 serves 12:00..23:59 on day 0 (720) and 00:00..05:59 on day 1 (360), up at 12:00 and 05:59.
    assert tuple(daily.loc[("d6", START), ["in_service_windows", "up_windows"]]) == (720, 1)
    assert tuple(daily.loc[("d6", START + DAY), ["in_service_windows", "up_windows"]]) == (360, 1)
    assert set(out["devices"]["device_id"]) == {"d1", "d2", "d3", "d6"}
    assert list(out["daily"].columns) == ["device_id", "day", "model", "in_service_windows", "up_windows", "uptime"]
    assert str(out["daily"]["day"].dtype) == "datetime64[ms, UTC]"


def test_no_device_in_service_gives_null_fleet_figures() -> None:
    devices = registry([("d4", "B", ts("3 00:00:00"), None)])
    out = device_uptime({"windows": windows([]), "devices": devices, "period": period()})
    assert out["daily"].empty and out["devices"].empty
    assert pd.isna(out["fleet"].loc[0, "fleet_uptime_pooled"])


def test_window_setting_must_match_the_windows() -> None:
    with pytest.raises(DataError, match="windows of 0 days 00:01:00"):
        device_uptime({"windows": WINDOWS, "devices": DEVICES, "period": period()}, window="5min")
    with pytest.raises(StepSettingsError, match="window"):
        device_uptime({"windows": WINDOWS, "devices": DEVICES, "period": period()}, window="soon")


def _devices_strategy() -> Any:
    offset = st.integers(-2 * 24 * 60, 3 * 24 * 60).map(lambda m: START + pd.Timedelta(minutes=m, seconds=m % 7))
    device = st.tuples(st.sampled_from("AB"), st.none() | offset, st.none() | offset)
    return st.lists(device, min_size=1, max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_devices_strategy(), size_minutes=st.sampled_from([15, 60]), data=st.data())
def test_random_fleets_agree_with_the_reference(spec: list[Any], size_minutes: int, data: st.DataObject) -> None:
    size = pd.Timedelta(minutes=size_minutes)
    devices = registry([(f"d{i}", m, a, b) for i, (m, a, b) in enumerate(spec)])
    slots = st.integers(-4, 2 * 24 * 60 // size_minutes + 2)
    rows = data.draw(st.lists(st.tuples(st.integers(0, len(spec)), slots, st.integers(0, 2)), max_size=40))
    seen: set[tuple[int, int]] = set()
    emitted = []
    for i, k, n in rows:  # a key drawn twice is a re-emission, as window.tumbling marks it
        emitted.append((f"d{i}", START + k * size, 1 + n, n, "upsert" if (i, k) in seen else "watermark"))
        seen.add((i, k))
    wins = windows(emitted, size=size)
    out = device_uptime({"windows": wins, "devices": devices, "period": period()}, window=f"{size_minutes}min")
    _check_against_reference(out, devices, wins, days=2, size=size)
    assert out["daily"]["uptime"].between(0, 1).all() and out["devices"]["uptime"].between(0, 1).all()
    fleet = out["fleet"].iloc[0]
    if fleet["in_service_windows"]:
        assert fleet["fleet_uptime_pooled"] == out["devices"]["up_windows"].sum() / out["devices"][
            "in_service_windows"].sum()
