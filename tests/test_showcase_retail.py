"""The retail-orders showcase against what it did not compute itself: the generator's manifest names every
defective order, and a few lines of plain pandas over the raw files recompute the revenue.

A showcase passes on evidence, never on its own say-so: each order set aside must be one the manifest says
was made bad (and each bad one set aside), and each published figure must equal the naive computation.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
import pytest
from kernel_datagen import generate

from kernel import Kernel, RunResult

PIPELINE = Path(str(files("kernel_showcases"))) / "retail-orders"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[str, Any], Path, Path]:
    root = tmp_path_factory.mktemp("retail")
    data = root / "data"
    generate(PIPELINE / "data.yaml", data, scale=0.6, seed=11)
    manifest = json.loads((data / "manifest.json").read_text())
    results = root / "results"
    result = Kernel().run(PIPELINE / "pipeline.yaml", params={"data": str(data), "results": str(results)},
                          runs_root=root / "runs", keep_outputs=True)
    assert result.ok, result.record.error
    return result, manifest, data, results


def _keys(manifest: dict[str, Any], *defects: str) -> set[str]:
    found = manifest["tables"]["orders"]["defects"]
    return {key for name in defects for key in found.get(name, {}).get("keys", [])}


def _raw_orders(data: Path) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for path in sorted(data.glob("orders/*/part-*.avro")):
        with path.open("rb") as stream:
            rows.extend(fastavro.reader(stream))
    return pd.DataFrame(rows)


def test_every_order_set_aside_is_one_the_generator_made_bad(run: tuple[RunResult, dict[str, Any], Path, Path]
                                                             ) -> None:
    result, manifest, _, results = run
    outputs = result.outputs
    duplicates = outputs["unique_orders"]["duplicates"]
    assert len(duplicates) == manifest["tables"]["orders"]["defects"]["duplicates"]["count"]
    assert set(duplicates["order_id"]) == _keys(manifest, "duplicates")

    checked = pd.read_parquet(result.run.run_dir / "quarantine" / "unique_orders.out.parquet")
    assert set(checked["order_id"]) == _keys(manifest, "nulls.quantity", "nulls.channel", "out_of_range.quantity",
                                             "malformed.channel")
    assert checked["order_id"].is_unique  # an order failing two checks is set aside once

    by_checks = set(checked["order_id"])
    unknown_customer = outputs["with_customer"]["quarantine_left"]
    assert set(unknown_customer["order_id"]) == _keys(manifest, "orphans.customer_id") - by_checks
    assert set(unknown_customer["reason"]) == {"(customer_id) not found on the right"}
    unknown_product = outputs["with_product"]["quarantine_left"]
    assert set(unknown_product["order_id"]) == (_keys(manifest, "orphans.sku") - by_checks
                                                - _keys(manifest, "orphans.customer_id"))

    published = pd.read_csv(results / "set_aside.csv")
    assert published["set_aside_as"].value_counts().to_dict() == {
        name: count for name, count in [("duplicate", len(duplicates)), ("unknown_customer", len(unknown_customer)),
                                        ("unknown_product", len(unknown_product))] if count}


def test_every_order_is_accounted_for(run: tuple[RunResult, dict[str, Any], Path, Path]) -> None:
    result, manifest, _, _ = run
    counted = len(result.outputs["lines"]["out"])
    set_aside = (len(result.outputs["unique_orders"]["duplicates"])
                 + len(pd.read_parquet(result.run.run_dir / "quarantine" / "unique_orders.out.parquet"))
                 + len(result.outputs["with_customer"]["quarantine_left"])
                 + len(result.outputs["with_product"]["quarantine_left"]))
    assert counted + set_aside == manifest["tables"]["orders"]["rows"]
    validation = json.loads((result.run.run_dir / "validation.json").read_text())
    verdicts = {c["id"]: c["passed"] for c in validation["checks"]}
    assert verdicts["every order accounted for"] is True and verdicts["revenue conserved"] is True
    assert validation["blocked"] == []  # the checks that found bad orders quarantined them: nothing stopped


def test_revenue_equals_plain_pandas_over_the_raw_files(run: tuple[RunResult, dict[str, Any], Path, Path]) -> None:
    _, _, data, results = run
    orders = _raw_orders(data).drop_duplicates("order_id")
    good = orders[orders["quantity"].between(1, 5) & orders["channel"].isin(["web", "app", "store"])]
    customers = pd.read_csv(data / "customers.csv")
    products = pd.read_json(data / "products.jsonl", lines=True)
    lines = good.merge(customers, on="customer_id").merge(products, on="sku")
    lines = lines.assign(revenue=(lines["quantity"] * lines["price"]).round(2),
                         day=pd.to_datetime(lines["ordered_at"], utc=True).dt.strftime("%Y-%m-%d"))
    expected = lines.groupby(["day", "category"]).agg(orders=("order_id", "size"), revenue=("revenue", "sum"),
                                                       customers=("customer_id", "nunique")).reset_index()
    trend = pd.read_csv(results / "trend.csv")
    assert trend[["day", "category"]].values.tolist() == expected[["day", "category"]].values.tolist()
    assert trend["orders"].tolist() == expected["orders"].tolist()
    assert trend["customers"].tolist() == expected["customers"].tolist()
    assert (trend["revenue"] - expected["revenue"].round(2)).abs().max() < 1e-6
    so_far = expected.groupby("category")["revenue"].cumsum()
    assert (trend["revenue_so_far"] - so_far).abs().max() < 0.05  # sums of cent-rounded daily sums

    segments = pd.read_csv(results / "segments.csv")
    by_segment = lines.groupby("segment")["revenue"].sum().round(2)
    assert segments.set_index("segment")["revenue"].to_dict() == pytest.approx(by_segment.to_dict())
