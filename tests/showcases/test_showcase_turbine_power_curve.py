"""The turbine-power-curve showcase's anomalies and energy against a few lines of plain pandas over the raw Avro
files (its anomalies are also held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from showcase_support import raw_avro, run_showcase

RATED_KW = 3000.0


def _judged(data) -> pd.DataFrame:
    scada = raw_avro(data, "scada/*/part-*.avro").drop_duplicates("record_id")
    scada = scada[scada["wind_speed_ms"].between(0, 40) & scada["power_index"].notna()
                  & scada["state"].isin(["run", "curtailed"])]
    judged = scada[(scada["state"] == "run") & (scada["wind_speed_ms"] >= 3) & (scada["wind_speed_ms"] < 25)].copy()
    v = judged["wind_speed_ms"]
    judged["warranted_kw"] = np.where(v < 12, RATED_KW * (v**3 - 3**3) / (12**3 - 3**3), RATED_KW)
    by_turbine = judged.groupby("turbine_id")["power_index"]
    judged["median"] = by_turbine.transform("median")
    judged["mad"] = (judged["power_index"] - judged["median"]).abs().groupby(judged["turbine_id"]).transform("median")
    judged["anomalous"] = (judged["power_index"] - judged["median"]).abs() > 9 * judged["mad"]
    return judged


def test_anomalies_and_lost_energy_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("turbine-power-curve")
    judged = _judged(run.data)
    flagged = run.published("flagged")
    assert sorted(flagged["record_id"]) == sorted(judged.loc[judged["anomalous"], "record_id"])

    below = judged[judged["anomalous"] & (judged["power_index"] < judged["median"])]
    lost = ((below["median"] - below["power_index"]) * below["warranted_kw"] / 6).groupby(below["turbine_id"]).sum()
    energy = (judged["power_index"] * judged["warranted_kw"] / 6).groupby(judged["turbine_id"]).sum()
    ranked = run.published("ranked").set_index("turbine_id")
    assert ranked["records_judged"].to_dict() == judged.groupby("turbine_id").size().to_dict()
    assert (ranked["energy_mwh"] - energy / 1000).abs().max() < 0.005
    assert (ranked["lost_mwh"] - lost.reindex(ranked.index, fill_value=0) / 1000).abs().max() < 0.002
    assert ranked["lost_mwh"].is_monotonic_decreasing


def test_the_measured_power_curve_follows_the_warranted_one() -> None:
    run = run_showcase("turbine-power-curve")
    healthy = _judged(run.data).query("not anomalous")
    active = healthy["power_index"] * healthy["warranted_kw"]
    curve = active.groupby([healthy["turbine_id"], np.floor(healthy["wind_speed_ms"]).astype(int)]).mean()
    published = run.published("power_curve").set_index(["turbine_id", "wind_bin"])["mean_active_kw"]
    assert published.index.tolist() == curve.index.tolist()
    assert (published - curve).abs().max() < 0.2  # the pipeline rounds warranted and active power to 0.1 kW
