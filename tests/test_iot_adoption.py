"""iot.firmware_adoption: fw(d, D), the targets and adoption against a plain reading of step 6 (details 10, 11, 16)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
from kernel_iot.adoption import firmware_adoption, highest, version_key
from kernel_iot.conform import heard_of

from kernel import StepSettingsError

START = pd.Timestamp("2024-03-01", tz="UTC")
DAY = pd.Timedelta("1D")
MIN = pd.Timedelta("1min")
DAYS = [START, START + DAY]


def ts(text: str) -> pd.Timestamp:
    """'1 10:00:30' = day 1 (the period's first day is day 0), 10:00:30."""
    day, clock = text.split(" ")
    return START + int(day) * DAY + pd.Timedelta(clock)


def utc(values: Sequence[Any], unit: str = "ms") -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype(f"datetime64[{unit}, UTC]")


DEVICES = pd.DataFrame({
    "device_id": ["d1", "d2", "d3", "d4", "d5"],
    "model": ["A", "A", "A", "B", "C"],
    "site": "s1",
    "installed_at": utc([ts("-30 00:00:00")] * 5),
    "decommissioned_at": utc([None] * 5),
})
PERIOD = pd.DataFrame({"period_start": utc([START]), "period_end": utc([START + 2 * DAY])})

# (device, last_event_time, last_firmware_version[, emit_kind]); window_start = floor(time, 1min)
WINDOW_ROWS: list[tuple[Any, ...]] = [
    ("d1", ts("-3 08:00:10"), "1.0.0"),
    ("d1", ts("0 12:00:00"), "1.0.0"),            # ties with d1's update at 12:00:00: the update wins
    ("d1", ts("1 09:00:40"), "1.9.0"),
    ("d2", ts("0 06:00:05"), "1.0.0"),
    ("d2", ts("1 07:00:05"), "1.9.0"),
    ("d3", ts("0 05:00:00"), "1.0.0"),
    ("d3", ts("1 11:00:30"), "1.0.0"),            # after its update to 1.10.0 at 10:00: the window is later
    ("d4", ts("0 04:04:04"), "2.0.0"),
    ("d4", ts("1 04:04:04"), "2.0.10"),
    ("d4", ts("1 04:05:00"), "2.0.0", "watermark"),
    ("d4", ts("1 04:05:30"), "2.0.10", "upsert"),  # re-emitted: the last emission's firmware counts
    ("d5", ts("0 01:00:00"), "3.0.0"),
]
# (device, event_time, event_type, to_version, success)
EVENT_ROWS: list[tuple[Any, ...]] = [
    ("d1", ts("-10 00:00:00"), "FIRMWARE_UPDATE", "2.0.0", True),   # before the period: not a target
    ("d1", ts("0 12:00:00"), "FIRMWARE_UPDATE", "1.9.0", True),
    ("d2", ts("0 13:00:00"), "FIRMWARE_UPDATE", "1.10.0", False),   # failed
    ("d2", ts("0 14:00:00"), "FIRMWARE_UPDATE", "1.11.0", None),    # unknown outcome: not a success
    ("d2", ts("1 00:00:00"), "FIRMWARE_UPDATE", "1.9.0", True),     # exactly at the end of day 0: day 1
    ("d3", ts("1 10:00:00"), "FIRMWARE_UPDATE", "1.10.0", True),
    ("d3", ts("1 10:30:00"), "REBOOT", None, None),
    ("d4", ts("0 09:00:00"), "FIRMWARE_UPDATE", "2.5.0", False),
]
# Telemetry (conformed) and late records, for the fallback of model B (no successful update)
TELEMETRY_ROWS = [("d4", ts("0 04:04:04"), "2.0.0"), ("d4", ts("1 04:04:04"), "2.0.10"),
                  ("d4", ts("2 00:00:00"), "9.9.9"),     # after the period
                  ("d5", ts("0 01:00:00"), "3.0.0")]
LATE_ROWS = [("d4", ts("1 23:00:00"), "2.1.0")]
# active(D): from the uptime step's daily table (up_windows > 0); d5 is not active on day 1
DAILY_ROWS = [("d1", 0, 5), ("d2", 0, 3), ("d3", 0, 1), ("d4", 0, 2), ("d5", 0, 1),
              ("d1", 1, 4), ("d2", 1, 1), ("d3", 1, 2), ("d4", 1, 9), ("d5", 1, 0)]


def windows_frame(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    times = utc([r[1] for r in rows])
    frame = pd.DataFrame({
        "device_id": pd.Categorical([r[0] for r in rows]),
        "window_start": times.dt.floor("min").astype("datetime64[ns, UTC]"),
        "records": 1,
        "online_records": pd.array([1] * len(rows), dtype="Int64"),
        "temperature_mean": 20.0,
        "last_firmware_version": pd.Series([r[2] for r in rows], dtype="str"),
        "last_event_time": times,
        "emit_kind": pd.Categorical([r[3] if len(r) > 3 else "watermark" for r in rows]),
    })
    frame["window_end"] = frame["window_start"] + MIN
    return frame


def inputs(windows: Sequence[tuple[Any, ...]] = WINDOW_ROWS, events: Sequence[tuple[Any, ...]] = EVENT_ROWS,
           telemetry: Sequence[tuple[Any, ...]] = TELEMETRY_ROWS, late: Sequence[tuple[Any, ...]] = LATE_ROWS,
           daily: Sequence[tuple[Any, ...]] = DAILY_ROWS) -> dict[str, pd.DataFrame]:
    ev = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(events))],
        "device_id": [r[0] for r in events],
        "event_time": utc([r[1] for r in events]),
        "event_type": pd.Categorical([r[2] for r in events],
                                     categories=["FIRMWARE_UPDATE", "REBOOT", "ERROR", "CONNECT", "DISCONNECT"]),
        "to_version": pd.Series([r[3] for r in events], dtype=object),
        "success": pd.array([r[4] for r in events], dtype="boolean"),
    })

    def records(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
        return pd.DataFrame({"device_id": pd.Categorical([r[0] for r in rows]), "event_time": utc([r[1] for r in rows]),
                             "firmware_version": pd.Series([r[2] for r in rows], dtype="str")})

    day = pd.DataFrame({"device_id": [r[0] for r in daily], "day": utc([DAYS[r[1]] for r in daily]),
                        "up_windows": [r[2] for r in daily]})
    truth = pd.DataFrame({"device_id": pd.Series([], dtype=object), "minute": utc([])})
    return {"windows": windows_frame(windows), "events": ev, "devices": DEVICES, "period": PERIOD, "daily": day,
            "heard": heard_of(records(telemetry), PERIOD), "late": records(late), "truth": truth}


# ---- the reference: the spec's sentences as loops ----------------------------------------------------------

def ref_fw(device: str, day_end: pd.Timestamp) -> str | None:
    last_emission = {}
    for r in WINDOW_ROWS:
        last_emission[(r[0], r[1].floor("min"))] = r
    sources = [(r[1], 0, r[2]) for r in last_emission.values() if r[0] == device]
    sources += [(e[1], 1, e[3]) for e in EVENT_ROWS if e[0] == device and e[2] == "FIRMWARE_UPDATE" and e[4] is True]
    before = [s for s in sources if s[0] < day_end]
    return max(before)[2] if before else None  # (time, update beats window)


def semver(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def ref_target(model: str, param: dict[str, str]) -> tuple[str | None, str | None]:
    if model in param:
        return param[model], "param"
    devices = set(DEVICES.loc[DEVICES["model"] == model, "device_id"])
    inside = [e[3] for e in EVENT_ROWS if e[0] in devices and e[2] == "FIRMWARE_UPDATE" and e[4] is True
              and START <= e[1] < START + 2 * DAY]
    if inside:
        return max(inside, key=semver), "updates"
    seen = [r[2] for r in TELEMETRY_ROWS + LATE_ROWS if r[0] in devices and START <= r[1] < START + 2 * DAY]
    return (max(seen, key=semver), "telemetry") if seen else (None, None)


def ref_adoption(param: dict[str, str]) -> dict[tuple[pd.Timestamp, str], tuple[int, int]]:
    model_of = dict(zip(DEVICES["device_id"], DEVICES["model"], strict=True))
    out: dict[tuple[pd.Timestamp, str], tuple[int, int]] = {}
    for device, k, up in DAILY_ROWS:
        if up <= 0:
            continue
        model = model_of[device]
        adopted = int(ref_fw(device, DAYS[k] + DAY) == ref_target(model, param)[0])
        for key in ((DAYS[k], model), (DAYS[k], "ALL")):
            active, on_target = out.get(key, (0, 0))
            out[key] = (active + 1, on_target + adopted)
    return out


# ---- tests --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("param", [{}, {"A": "1.9.0"}, {"A": "1.0.0", "C": "3.1.0"}])
def test_adoption_matches_the_reference(param: dict[str, str]) -> None:
    out = firmware_adoption(inputs(), firmware_targets=param or None)
    got = {(r.day, r.model): (r.active_devices, r.adopted_devices) for r in out["adoption"].itertuples()}
    assert got == ref_adoption(param)
    for r in out["adoption"].itertuples():
        assert r.adoption == pytest.approx(r.adopted_devices / r.active_devices)
        expected = None if r.model == "ALL" else ref_target(r.model, param)[0]
        assert pd.isna(r.target) if expected is None else r.target == expected
    targets = {r.model: (r.target, r.source) for r in out["targets"].itertuples()}
    assert targets == {m: ref_target(m, param) for m in ("A", "B", "C")}


def test_hand_checked_scenario() -> None:
    out = firmware_adoption(inputs())
    # A: 1.10.0 (d3's update) beats 1.9.0 numerically; B has no successful update, and its late
    # record 2.1.0 beats the telemetry's 2.0.10; C's only version is its telemetry's 3.0.0.
    assert dict(zip(out["targets"]["model"], out["targets"]["target"], strict=True)) == {
        "A": "1.10.0", "B": "2.1.0", "C": "3.0.0"}
    table = out["adoption"].set_index(["day", "model"])
    # Day 0: d1 is on 1.9.0 (update wins the 12:00 tie), d2 on 1.0.0 (failed updates), d3 on 1.0.0: 0 of 3.
    assert tuple(table.loc[(DAYS[0], "A"), ["active_devices", "adopted_devices"]]) == (3, 0)
    # Day 1: d3's window at 11:00:30 says 1.0.0 after its 10:00 update: still not adopted.
    assert tuple(table.loc[(DAYS[1], "A"), ["active_devices", "adopted_devices"]]) == (3, 0)
    # C: d5 is on its target on day 0 and inactive on day 1: no row then (detail 16).
    assert tuple(table.loc[(DAYS[0], "C"), ["active_devices", "adopted_devices"]]) == (1, 1)
    assert (DAYS[1], "C") not in table.index
    assert tuple(table.loc[(DAYS[1], "ALL"), ["active_devices", "adopted_devices"]]) == (4, 0)
    assert pd.isna(table.loc[(DAYS[1], "ALL"), "target"])
    assert list(out["adoption"]["model"][:4]) == ["ALL", "A", "B", "C"]  # each day: the pooled row first


def test_update_at_the_day_boundary_counts_for_the_next_day_only() -> None:
    out = firmware_adoption(inputs(), firmware_targets={"A": "1.9.0"})
    table = out["adoption"].set_index(["day", "model"])
    # d1 on 1.9.0 from day 0; d2 reaches 1.9.0 at exactly the end of day 0, so only on day 1.
    assert table.loc[(DAYS[0], "A"), "adopted_devices"] == 1
    assert table.loc[(DAYS[1], "A"), "adopted_devices"] == 2


def test_versions_compare_numerically() -> None:
    assert highest(["3.9.0", "3.10.2", "v4.0.0", "4.0.0-rc1", None, "3.10.10"]) == "3.10.10"
    assert version_key("1.2.3") == (1, 2, 3) and version_key("1.2") is None and version_key("1.2.3\n") is None


def test_a_target_setting_must_be_a_version() -> None:
    with pytest.raises(StepSettingsError, match=r"firmware_targets\.A"):
        firmware_adoption(inputs(), firmware_targets={"A": "latest"})
