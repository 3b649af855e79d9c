"""The production-star showcase's output and scrap rate per plant and product against a few lines of plain
pandas over the raw CSV files (its runs set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _counted_runs(data: Path) -> pd.DataFrame:
    """The runs counted: once each, with a scrap count, and an output between 0 and the line's 1,400 units."""
    runs = pd.read_csv(data / "runs.csv").drop_duplicates("run_no")
    return runs[runs["units_scrapped"].notna() & runs["units_out"].between(0, 1400)]


def test_output_and_scrap_rate_per_plant_and_product_equal_plain_pandas() -> None:
    run = run_showcase("production-star")
    runs = _counted_runs(run.data)
    plants = pd.read_csv(run.data / "plants.csv")["plant_code"]
    products = pd.read_csv(run.data / "products.csv")["product_code"]
    runs = runs.assign(plant=runs["plant_code"].where(runs["plant_code"].isin(plants), "unknown"),
                       product=runs["product_code"].where(runs["product_code"].isin(products), "unknown"))
    expected = runs.groupby(["plant", "product"]).agg(runs=("run_no", "size"), units_out=("units_out", "sum"),
                                                      units_scrapped=("units_scrapped", "sum")).reset_index()
    expected["scrap_rate"] = (expected["units_scrapped"] / expected["units_out"]).round(4)
    published = run.published("by_plant_product")
    columns = ["plant", "product", "runs", "units_out", "units_scrapped"]
    assert published[columns].values.tolist() == expected[columns].values.tolist()
    assert (published["scrap_rate"] - expected["scrap_rate"]).abs().max() < 1e-9
    assert (published["good_units"] == published["units_out"] - published["units_scrapped"]).all()


def test_the_unknown_member_takes_the_runs_the_master_data_does_not_know() -> None:
    run = run_showcase("production-star")
    runs = _counted_runs(run.data)
    expected = {}
    for dimension, table, column in (("plants", "plants", "plant_code"), ("products", "products", "product_code"),
                                     ("shifts", "shifts", "shift_id"), ("operators", "operators", "operator_id")):
        known = pd.read_csv(run.data / f"{table}.csv")[column]
        if (unknown := int((runs[column].notna() & ~runs[column].isin(known)).sum())):
            expected[(dimension, "no match")] = unknown
        if (missing := int(runs[column].isna().sum())):
            expected[(dimension, "null key")] = missing
    summary = run.published("unmatched_summary")
    assert {(d, r): n for d, r, n in summary[["dimension", "reason", "runs"]].values.tolist()} == expected
    fact = run.published("fact_production")
    assert len(fact) == len(runs)
    assert int((fact["plant_key"] == 0).sum()) == expected.get(("plants", "no match"), 0)
