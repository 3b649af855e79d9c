"""The solar-conformance showcase's figures against a few lines of plain pandas over the raw files (its readings
set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import raw_avro, run_showcase


def _conformed_readings(data) -> pd.DataFrame:
    """Both vendors' readings in kW on the 15-minute grid, each reading once, the bad ones left out."""
    sunwave = raw_avro(data, "sunwave_readings/*/part-*.avro")
    sunwave = pd.DataFrame({
        "reading_id": sunwave["reading_id"], "inverter_id": sunwave["inverter_id"],
        "power_kw": sunwave["ac_power_kw"].fillna(sunwave.get("p_ac_kw")),  # renamed by a firmware update
        "start": pd.to_datetime(sunwave["period_end"], utc=True) - pd.Timedelta("15min"), "status": sunwave["status"]})
    voltaro = pd.concat(pd.read_json(p, lines=True, dtype={"serial": str})
                        for p in sorted(data.glob("voltaro_readings/*/part-*.jsonl")))
    states = {"MPPT": "producing", "LIMIT": "curtailed", "FAULT": "fault"}
    voltaro = pd.DataFrame({
        "reading_id": voltaro["sample_id"], "inverter_id": voltaro["serial"], "power_kw": voltaro["power_w"] / 1000,
        "start": pd.to_datetime(voltaro["sampled_at"], utc=True).dt.floor("15min"),
        "status": voltaro["state"].map(states)})
    both = pd.concat([sunwave, voltaro]).drop_duplicates("reading_id")
    return both[both["power_kw"].between(0, 50) & both["status"].isin(states.values())]


def _inverters(data) -> pd.DataFrame:
    sunwave = raw_avro(data, "sunwave_inverters.avro")[["inverter_id", "site_id", "rated_kw"]]
    voltaro = pd.read_json(data / "voltaro_inverters.jsonl", lines=True)
    voltaro = pd.DataFrame({"inverter_id": voltaro["serial"], "site_id": voltaro["plant"],
                            "rated_kw": voltaro["nominal_w"] / 1000})
    sites = pd.read_json(data / "sites.jsonl", lines=True)
    return pd.concat([sunwave, voltaro]).merge(sites[["site_id"]], on="site_id")


def test_daily_energy_and_yield_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("solar-conformance")
    readings, inverters = _conformed_readings(run.data), _inverters(run.data)
    lines = readings.merge(inverters, on="inverter_id")
    intervals = lines.groupby(["site_id", "inverter_id", "start"])["power_kw"].mean().mul(0.25).round(4).reset_index()
    intervals["day"] = intervals["start"].dt.strftime("%Y-%m-%d")
    expected = intervals.groupby(["site_id", "day"]).agg(intervals=("start", "size"), energy=("power_kw", "sum"))
    kwp = inverters.groupby("site_id")["rated_kw"].sum()
    expected["specific_yield"] = expected["energy"] / kwp.reindex(expected.index.get_level_values("site_id")).to_numpy()

    published = run.published("daily_yield").set_index(["site_id", "day"])
    assert published.index.tolist() == expected.index.tolist()
    assert published["intervals"].tolist() == expected["intervals"].tolist()
    assert (published["energy_kwh"] - expected["energy"]).abs().max() < 0.001
    assert (published["specific_yield"] - expected["specific_yield"]).abs().max() < 0.001
    assert published["readings"].sum() == len(lines)


def test_the_conformed_units_agree_across_vendors() -> None:
    run = run_showcase("solar-conformance")
    located = run.rows("located.out")
    # both vendors' inverters are 50 kW machines once Voltaro's watts are kW; every reading sits on the grid
    assert set(located["rated_kw"]) == {50.0}
    assert (located["interval_start"].dt.minute % 15 == 0).all() and (located["interval_start"].dt.second == 0).all()
    assert set(located["vendor"]) == {"sunwave", "voltaro"}
    published = run.published("set_aside")
    assert set(published["set_aside_as"]) <= {"duplicate", "inverter_on_unknown_site"}
