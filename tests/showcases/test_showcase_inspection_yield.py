"""The inspection-yield showcase's first-pass yield, defect Pareto and torque capability against a few lines of
plain pandas over the raw test results (its results set aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from showcase_support import ShowcaseRun, run_showcase


def _judged_by_hand(run: ShowcaseRun) -> pd.DataFrame:
    results = pd.read_json(run.data / "inspections.jsonl", lines=True, dtype=False).drop_duplicates("inspection_id")
    trusted = (results["torque_nm"].between(0, 25) & results["leak_ml_min"].between(0, 50)
               & results["defect_code"].notna() & results["station"].isin(["EOL-1", "EOL-2", "EOL-3", "EOL-4"])
               & results["serial"].str.fullmatch(r"PU\d{8}").fillna(False).astype(bool))
    results = results[trusted].copy()
    cause = np.select(
        [results["defect_code"] != "none", results["torque_nm"] < 8.5, results["torque_nm"] > 11.5,
         results["leak_ml_min"] > 5.0],
        [results["defect_code"], "torque_low", "torque_high", "leak"], default="")
    return results.assign(cause=cause, passed=cause == "",
                          day=pd.to_datetime(results["inspected_at"], utc=True).dt.strftime("%Y-%m-%d"))


def test_first_pass_yield_per_station_and_day_equals_plain_pandas() -> None:
    run = run_showcase("inspection-yield")
    judged = _judged_by_hand(run)
    first = judged[judged["attempt"] == 1]
    expected = first.groupby(["day", "station"])["passed"].agg(["size", "sum"])
    got = run.published("yield_by_station").set_index(["day", "station"])
    assert got.index.tolist() == expected.index.tolist()
    assert got["first_tests"].tolist() == expected["size"].tolist()
    assert got["first_passed"].tolist() == expected["sum"].tolist()
    fpy = 100 * expected["sum"] / expected["size"]
    assert (got["first_pass_yield_pct"] - fpy).abs().max() <= 0.005 + 1e-9
    assert got["tests"].sum() == len(judged)


def test_defect_pareto_and_torque_capability_equal_plain_pandas() -> None:
    run = run_showcase("inspection-yield")
    judged = _judged_by_hand(run)
    counts = judged.loc[~judged["passed"], "cause"].value_counts()
    pareto = run.published("pareto")
    assert dict(zip(pareto["cause"], pareto["failures"], strict=True)) == counts.to_dict()
    assert pareto["failures"].is_monotonic_decreasing
    assert abs(pareto["cumulative_pct"].iloc[-1] - 100) < 1e-9

    torque = judged.groupby("station")["torque_nm"]
    mean, sigma = torque.mean(), torque.std()
    cpk = np.minimum(11.5 - mean, mean - 8.5) / (3 * sigma)
    capability = run.published("capability").set_index("station")
    assert (capability["cpk"] - cpk).abs().max() <= 0.0005 + 1e-9
    assert capability["measurements"].to_dict() == torque.size().to_dict()
