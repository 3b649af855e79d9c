"""The device-config-history showcase's history against a few lines of plain pandas over the raw JSON lines files:
versions found by comparing each device's nights in turn, not by a type-2 merge (its rows set aside are held to
the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

STATE = ["firmware_version", "reporting_interval_s", "alert_profile"]


def _nights() -> pd.DataFrame:
    """One row per device and night that both systems exported cleanly, in device and night order."""
    data = run_showcase("device-config-history").data
    read = lambda table: pd.concat(  # noqa: E731
        [pd.read_json(p, lines=True, dtype=False) for p in sorted(data.glob(f"{table}/*/part-*.jsonl"))])
    firmware = read("firmware").drop_duplicates(["device_id", "snapshot_at"])
    firmware = firmware[firmware["firmware_version"].isin(["4.2.1", "4.3.0-canary"])]
    config = read("config")
    config["alert_profile"] = config["alert_profile"].combine_first(config["alerting_profile"])
    config = config[config["device_id"].notna() & config["reporting_interval_s"].isin([60, 300, 900])]
    devices = pd.read_json(data / "devices.jsonl", lines=True)
    nights = firmware.merge(config, on=["device_id", "snapshot_at"]).merge(devices, on="device_id")
    nights = nights.sort_values(["device_id", "snapshot_at"]).reset_index(drop=True)
    before = nights.groupby("device_id")[STATE].shift()
    nights["first"] = before["firmware_version"].isna()
    nights["changed"] = nights["first"] | (nights[STATE] != before).any(axis=1)
    nights["previous_firmware"] = before["firmware_version"]
    return nights


def test_versions_and_changes_per_night_equal_plain_pandas() -> None:
    nights = _nights()
    run = run_showcase("device-config-history")
    assert len(run.published("version_table")) == nights["changed"].sum()
    opened = nights[nights["changed"]]
    night = pd.to_datetime(opened["snapshot_at"], utc=True)
    changes = run.published("changes_per_night").set_index("valid_from")
    assert changes["versions_opened"].to_dict() == opened.groupby(night).size().to_dict()
    assert changes["new_devices"].to_dict() == opened.groupby(night)["first"].sum().to_dict()
    to_canary = (opened["previous_firmware"] == "4.2.1") & (opened["firmware_version"] == "4.3.0-canary")
    rolled_back = (opened["previous_firmware"] == "4.3.0-canary") & (opened["firmware_version"] == "4.2.1")
    assert changes["to_canary"].to_dict() == to_canary.groupby(night).sum().to_dict()
    assert changes["rolled_back"].to_dict() == rolled_back.groupby(night).sum().to_dict()


def test_the_fleet_as_of_a_moment_is_each_devices_last_night_before_it() -> None:
    nights = _nights()
    run = run_showcase("device-config-history")
    seen = nights[pd.to_datetime(nights["snapshot_at"], utc=True) <= pd.Timestamp("2026-03-04T15:30:00Z")]
    last = seen.groupby("device_id").tail(1)
    expected = last.groupby(["model", "firmware_version", "reporting_interval_s"]).size()
    fleet = run.published("fleet_as_of").set_index(["model", "firmware_version", "reporting_interval_s"])
    assert fleet["devices"].to_dict() == expected.to_dict()
    exposure = run.published("canary_exposure").set_index("model")
    ran = nights[nights["firmware_version"] == "4.3.0-canary"].groupby("model")["device_id"].nunique()
    assert exposure["ran_canary"].to_dict() == ran.to_dict()
