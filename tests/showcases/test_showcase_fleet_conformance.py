"""The fleet-conformance showcase's device counts against a few lines of plain pandas over the two vendors' raw
registries (its devices set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pandas as pd
from showcase_support import run_showcase


def _conformed_by_hand(data: Path) -> pd.DataFrame:
    with (data / "acme_devices.avro").open("rb") as stream:
        acme = pd.DataFrame(list(fastavro.reader(stream)))
    acme = acme.assign(vendor="acme", max_temp_c=acme["max_temp_c"].astype(float))
    northbeam = pd.read_json(data / "northbeam_devices.jsonl", lines=True, dtype=False)
    northbeam = pd.DataFrame({
        "device_id": northbeam["serial"], "model": northbeam["product"], "site_code": northbeam["location"],
        "battery_mah": (northbeam["battery_ah"] * 1000).round(),
        "max_temp_c": ((northbeam["max_temp_f"] - 32) / 1.8).round(1),
        "firmware": northbeam["fw_version"].str.removeprefix("v"), "vendor": "northbeam"})
    devices = pd.concat([acme, northbeam], ignore_index=True).drop_duplicates("device_id")
    good = (devices["model"].notna() & devices["battery_mah"].between(2000, 6000)
            & devices["max_temp_c"].between(60, 85)
            & devices["firmware"].str.fullmatch(r"\d+\.\d+\.\d+").fillna(False).astype(bool))
    sites = pd.read_json(data / "sites.jsonl", lines=True)
    return devices[good].merge(sites, on="site_code")


def test_devices_per_site_and_vendor_equal_plain_pandas_over_the_raw_registries() -> None:
    run = run_showcase("fleet-conformance")
    devices = _conformed_by_hand(run.data)
    expected = devices.pivot_table(index="site_code", columns="vendor", values="device_id", aggfunc="size",
                                   fill_value=0)
    by_site = run.published("by_site").set_index("site_code")
    assert by_site["acme"].to_dict() == expected["acme"].to_dict()
    assert by_site["northbeam"].to_dict() == expected["northbeam"].to_dict()
    assert by_site["devices"].sum() == len(devices) == len(run.published("devices"))
    median = devices.groupby("site_code")["battery_mah"].median()
    assert (by_site["median_battery_mah"] - median).abs().max() < 1e-9


def test_northbeam_is_published_in_the_fleets_units() -> None:
    run = run_showcase("fleet-conformance")
    published = run.published("devices").set_index("device_id")
    raw = pd.read_json(run.data / "northbeam_devices.jsonl", lines=True, dtype=False).drop_duplicates("serial")
    raw = raw[raw["serial"].isin(published.index)].set_index("serial")
    assert len(raw) > 0
    assert (published.loc[raw.index, "battery_mah"] == (raw["battery_ah"] * 1000).round()).all()
    fahrenheit = published.loc[raw.index, "max_temp_c"] * 9 / 5 + 32
    assert (fahrenheit - raw["max_temp_f"]).abs().max() <= 0.1
    assert set(run.published("set_aside")["set_aside_as"]) <= {"duplicate", "unknown_site"}
