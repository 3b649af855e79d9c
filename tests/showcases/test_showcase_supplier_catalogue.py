"""The supplier-catalogue showcase's figures against a few lines of plain pandas over the two suppliers' raw
catalogues and the buyers' category maps (its products set aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

OUNCE_G = 28.349523125


def _catalogue_by_hand(data: Path) -> pd.DataFrame:
    alpine = pd.read_csv(data / "alpine_products.csv")
    alpine = alpine.merge(pd.read_csv(data / "alpine_categories.csv"), on="alpine_category")
    alpine = pd.DataFrame({"product_id": alpine["sku"], "supplier": "alpine", "name": alpine["name"],
                           "category": alpine["category"], "unit": alpine["content_unit"],
                           "content": alpine["content"].astype(float), "price": alpine["unit_price_eur"],
                           "gtin_ok": True})
    nordvik = pd.read_parquet(data / "nordvik_products.parquet")
    nordvik = nordvik.merge(pd.read_csv(data / "nordvik_groups.csv"), on="group_code")
    nordvik = pd.DataFrame({"product_id": nordvik["item_no"], "supplier": "nordvik", "name": nordvik["description"],
                            "category": nordvik["category"], "unit": "g",
                            "content": (nordvik["weight_oz"] * OUNCE_G).round(1),
                            "price": nordvik["price_cents"] / 100,
                            "gtin_ok": nordvik["gtin"].str.fullmatch(r"\d{13}").fillna(False).astype(bool)})
    products = pd.concat([alpine, nordvik], ignore_index=True).drop_duplicates("product_id")
    good = (products["name"].notna() & products["price"].between(0.2, 60) & products["unit"].isin(["g", "ml"])
            & products["content"].between(28.3, 1134.5) & products["gtin_ok"])
    products = products[good]
    return products.assign(per_kg_or_l=(products["price"] / products["content"] * 1000).round(2))


def test_products_and_prices_per_category_equal_plain_pandas_over_the_raw_catalogues() -> None:
    run = run_showcase("supplier-catalogue")
    products = _catalogue_by_hand(run.data)
    groups = products.groupby(["category", "unit"])
    by_category = run.published("by_category").set_index(["category", "base_unit"])
    assert by_category["products"].to_dict() == groups.size().to_dict()
    per_supplier = products.pivot_table(index=["category", "unit"], columns="supplier", values="product_id",
                                        aggfunc="size", fill_value=0)
    for supplier in ("alpine", "nordvik"):
        assert by_category[supplier].to_dict() == per_supplier[supplier].to_dict()
    assert (by_category["median_price_per_kg_or_l"] - groups["per_kg_or_l"].median()).abs().max() < 1e-9
    assert (by_category["median_unit_price_eur"] - groups["price"].median()).abs().max() < 1e-9
    assert by_category["products"].sum() == len(run.published("catalogue"))


def test_nordvik_is_published_in_grams_and_euros() -> None:
    run = run_showcase("supplier-catalogue")
    published = run.published("catalogue").set_index("product_id")
    raw = pd.read_parquet(run.data / "nordvik_products.parquet").drop_duplicates("item_no").set_index("item_no")
    raw = raw.loc[raw.index.intersection(published.index)]
    assert len(raw) > 0
    assert (published.loc[raw.index, "content_base"] / OUNCE_G - raw["weight_oz"]).abs().max() < 0.01
    assert (published.loc[raw.index, "unit_price_eur"] * 100 - raw["price_cents"]).abs().max() < 1e-6
    assert set(published.loc[raw.index, "base_unit"]) == {"g"}
    assert set(run.published("set_aside")["set_aside_as"]) <= {"duplicate", "unmapped_category"}
