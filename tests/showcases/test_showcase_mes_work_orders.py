"""The mes-work-orders showcase's figures against a few lines of plain pandas over the two plants' raw exports
(its work orders set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import fastavro
import pandas as pd
from showcase_support import run_showcase


def _avro(path: Path) -> pd.DataFrame:
    with path.open("rb") as stream:
        return pd.DataFrame(list(fastavro.reader(stream)))


def _completed_by_hand(data: Path) -> pd.DataFrame:
    north = _avro(data / "north_orders.avro").assign(plant="north")
    south = pd.read_csv(data / "south_orders.csv")
    south = pd.DataFrame({
        "wo_id": south["order_no"], "line_id": south["workcenter"], "sku": south["material"],
        "run_minutes": (south["run_hours"] * 60).round(), "good_qty": south["yield_qty"],
        "scrap_qty": south["reject_qty"],
        "status": south["sys_status"].map({"CNF": "completed", "CNCL": "cancelled"}), "plant": "south"})
    orders = pd.concat([north, south], ignore_index=True).drop_duplicates("wo_id")
    good = (orders["sku"].notna() & orders["run_minutes"].between(30, 480) & orders["good_qty"].between(0, 1200)
            & orders["scrap_qty"].between(0, 200) & (orders["status"] == "completed"))
    north_lines = _avro(data / "north_lines.avro")
    south_lines = pd.read_csv(data / "south_workcenters.csv").rename(columns={"workcenter": "line_id"})
    lines = pd.concat([north_lines, south_lines], ignore_index=True)[["line_id"]]
    products = pd.read_csv(data / "products.csv")
    return orders[good].merge(lines, on="line_id").merge(products, on="sku")


def test_good_pieces_scrap_and_rate_per_line_equal_plain_pandas() -> None:
    run = run_showcase("mes-work-orders")
    orders = _completed_by_hand(run.data)
    expected = orders.groupby(["line_id", "family"]).agg(
        orders=("wo_id", "size"), good_qty=("good_qty", "sum"), scrap_qty=("scrap_qty", "sum"),
        minutes=("run_minutes", "sum"))
    by_line = run.published("by_line").set_index(["line_id", "family"]).sort_index()
    assert by_line.index.tolist() == expected.index.tolist()
    assert by_line["orders"].tolist() == expected["orders"].tolist()
    assert by_line["good_qty"].tolist() == expected["good_qty"].tolist()
    assert by_line["scrap_qty"].tolist() == expected["scrap_qty"].tolist()
    rate = 100 * expected["scrap_qty"] / (expected["good_qty"] + expected["scrap_qty"])
    assert (by_line["scrap_rate_pct"] - rate).abs().max() <= 0.005 + 1e-9
    per_hour = expected["good_qty"] / (expected["minutes"] / 60)
    assert (by_line["good_per_run_hour"] - per_hour).abs().max() <= 0.05 + 1e-9


def test_the_plants_side_by_side_add_up_to_the_lines() -> None:
    run = run_showcase("mes-work-orders")
    by_line, by_plant = run.published("by_line"), run.published("by_plant")
    summed = by_line.groupby(["plant", "family"])[["orders", "good_qty"]].sum()
    assert by_plant.set_index(["plant", "family"])[["orders", "good_qty"]].equals(summed)
    assert set(by_line.loc[by_line["plant"] == "south", "line_id"].str[:4]) == {"S-WC"}
    cancelled = run.published("set_aside").query("set_aside_as == 'cancelled'")
    assert set(cancelled["status"]) == {"cancelled"}
