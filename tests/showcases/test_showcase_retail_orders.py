"""The retail-orders showcase's figures against a few lines of plain pandas over the raw files (its orders
set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import raw_avro, run_showcase


def test_the_orders_set_aside_are_published_with_how() -> None:
    run = run_showcase("retail-orders")
    published = run.published("set_aside")
    expected = {"duplicate": len(run.rows("unique_orders.duplicates")),
                "unknown_customer": len(run.rows("with_customer.quarantine_left")),
                "unknown_product": len(run.rows("with_product.quarantine_left"))}
    assert published["set_aside_as"].value_counts().to_dict() == {k: v for k, v in expected.items() if v}
    assert set(run.rows("with_customer.quarantine_left")["reason"]) == {"(customer_id) not found on the right"}


def test_revenue_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("retail-orders")
    data = run.data
    orders = raw_avro(data, "orders/*/part-*.avro").drop_duplicates("order_id")
    good = orders[orders["quantity"].between(1, 5) & orders["channel"].isin(["web", "app", "store"])]
    customers = pd.read_csv(data / "customers.csv")
    products = pd.read_json(data / "products.jsonl", lines=True)
    lines = good.merge(customers, on="customer_id").merge(products, on="sku")
    lines = lines.assign(revenue=(lines["quantity"] * lines["price"]).round(2),
                         day=pd.to_datetime(lines["ordered_at"], utc=True).dt.strftime("%Y-%m-%d"))
    expected = lines.groupby(["day", "category"]).agg(orders=("order_id", "size"), revenue=("revenue", "sum"),
                                                       customers=("customer_id", "nunique")).reset_index()
    trend = run.published("trend")
    assert trend[["day", "category"]].values.tolist() == expected[["day", "category"]].values.tolist()
    assert trend["orders"].tolist() == expected["orders"].tolist()
    assert trend["customers"].tolist() == expected["customers"].tolist()
    assert (trend["revenue"] - expected["revenue"].round(2)).abs().max() < 1e-6
    so_far = expected.groupby("category")["revenue"].cumsum()
    assert (trend["revenue_so_far"] - so_far).abs().max() < 0.05  # sums of cent-rounded daily sums

    segments = run.published("segments")
    by_segment = lines.groupby("segment")["revenue"].sum().round(2)
    assert segments.set_index("segment")["revenue"].to_dict() == pytest.approx(by_segment.to_dict())
