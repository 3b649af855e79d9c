"""The truck-ping-enrichment showcase's kilometres and speeding against a few lines of plain pandas over the raw
JSON lines (its pings set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def _pings_on_planned_routes(data) -> pd.DataFrame:
    pings = pd.read_json(data / "pings.jsonl", lines=True, dtype=False).drop_duplicates("ping_id")
    valid = (pings["speed_kmh"].between(0, 130) & pings["latitude"].between(50.0, 55.8)
             & pings["fix"].isin(["3d", "2d"]))
    routes = pd.read_json(data / "routes.jsonl", lines=True, dtype=False)
    depots = pd.read_json(data / "depots.jsonl", lines=True, dtype=False)
    return pings[valid].merge(routes, on="route_id").merge(depots, on="depot_id")


def test_kilometres_per_route_equal_plain_pandas_over_the_raw_pings() -> None:
    run = run_showcase("truck-ping-enrichment")
    pings = _pings_on_planned_routes(run.data)
    expected = pings.groupby("route_id").agg(pings=("ping_id", "size"), km=("km_since_last", "sum"),
                                             planned=("planned_km", "first"))
    routes = run.published("route_summary").set_index("route_id").sort_index()
    assert routes.index.tolist() == expected.index.tolist()
    assert routes["pings"].tolist() == expected["pings"].tolist()
    assert (routes["driven_km"] - expected["km"]).abs().max() <= 0.05 + 1e-9
    assert (routes["km_vs_plan"] - expected["km"] / expected["planned"]).abs().max() <= 5e-4 + 1e-9


def test_speeding_per_depot_against_its_own_policy_equals_plain_pandas() -> None:
    run = run_showcase("truck-ping-enrichment")
    pings = _pings_on_planned_routes(run.data)
    pings["speeding"] = pings["speed_kmh"] > pings["speed_limit_kmh"]
    expected = pings.groupby("depot_id").agg(pings=("ping_id", "size"), speeding=("speeding", "sum"),
                                             limit=("speed_limit_kmh", "first"))
    depots = run.published("depot_summary").set_index("depot_id").sort_index()
    assert depots["pings"].tolist() == expected["pings"].tolist()
    assert depots["speeding_pings"].tolist() == expected["speeding"].tolist()
    assert depots["speed_limit_kmh"].tolist() == expected["limit"].tolist()
    # the pings of routes the plan does not have are listed, not counted
    unplanned = run.published("unplanned_pings")
    assert not unplanned["route_id"].isin(pd.read_json(run.data / "routes.jsonl", lines=True)["route_id"]).any()
    assert run.published("unplanned_routes")["pings"].sum() == len(unplanned)
