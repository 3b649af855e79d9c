"""The exposure-rollup showcase's exposures at every level of the hierarchy against a few lines of plain pandas
over the raw CSV files (its positions set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase


def _positions_by_hand(data: Path) -> pd.DataFrame:
    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(data / f"{name}.csv")

    hierarchy = (read("books").merge(read("desks"), on="desk_code").merge(read("business_lines"), on="line_code")
                 .merge(read("legal_entities"), on="entity_code"))
    positions = read("positions").drop_duplicates("position_id")
    positions = positions[positions["market_value_usd"].between(1_000, 50_000_000)
                          & positions["direction"].isin(["long", "short"])]
    positions = positions.merge(hierarchy, on="book_id")
    sign = positions["direction"].map({"long": 1, "short": -1})
    return positions.assign(net=positions["market_value_usd"] * sign, gross=positions["market_value_usd"])


@pytest.mark.parametrize(("published", "level"), [("desk_limits", ["desk_code"]),
                                                  ("by_business_line", ["line_code"]),
                                                  ("by_legal_entity", ["entity_code"])])
def test_each_level_equals_plain_pandas_over_the_raw_files(published: str, level: list[str]) -> None:
    run = run_showcase("exposure-rollup")
    expected = _positions_by_hand(run.data).groupby(level).agg(
        positions=("position_id", "size"), net=("net", "sum"), gross=("gross", "sum"))
    found = run.published(published).set_index(level).sort_index()
    assert found.index.tolist() == expected.index.tolist()
    assert found["positions"].tolist() == expected["positions"].tolist()
    assert (found["net_usd"] - expected["net"]).abs().max() < 0.01
    assert (found["gross_usd"] - expected["gross"]).abs().max() < 0.01


def test_the_total_and_the_limit_breaches_equal_plain_pandas() -> None:
    run = run_showcase("exposure-rollup")
    positions = _positions_by_hand(run.data)
    total = json.loads((run.results / "total.json").read_text())
    assert total["positions"] == len(positions)
    assert total["gross_usd"] == pytest.approx(positions["gross"].sum(), abs=0.01)
    assert total["net_usd"] == pytest.approx(positions["net"].sum(), abs=0.01)
    desks = positions.groupby("desk_code").agg(gross=("gross", "sum"), limit=("gross_limit_musd", "first"))
    utilisation = run.published("desk_limits").set_index("desk_code")["limit_utilisation"]
    assert (utilisation - desks["gross"] / (desks["limit"] * 1e6)).abs().max() <= 0.00005
    over = desks[desks["gross"] > desks["limit"] * 1e6]
    assert sorted(run.published("breaches")["desk_code"]) == sorted(over.index)
