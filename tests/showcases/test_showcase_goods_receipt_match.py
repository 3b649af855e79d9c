"""The goods-receipt-match showcase's reconciliation statement against a few lines of plain pandas over the raw
CSV and Parquet exports (the receipts and scans it sets aside are held to the generator's manifest by its
expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def test_the_findings_equal_a_plain_pandas_three_way_match() -> None:
    run = run_showcase("goods-receipt-match")
    orders = pd.read_csv(run.data / "deliveries.csv")
    receipts = pd.read_csv(run.data / "erp_receipts.csv").drop_duplicates("receipt_no")
    scans = pd.read_parquet(run.data / "wms_scans.parquet").drop_duplicates("scan_id")
    scans = scans[scans["cartons"].notna()]
    both = receipts.dropna(subset=["delivery_id"]).merge(scans.dropna(subset=["delivery_id"]), on="delivery_id",
                                                         how="outer", indicator=True).merge(orders, on="delivery_id")
    pairs = both[both["_merge"] == "both"]
    erp_off = pairs["quantity"] != pairs["ordered_cartons"]
    dock_off = ~erp_off & (pairs["cartons"] != pairs["ordered_cartons"])
    expected = {
        "agreed": int((~erp_off & ~dock_off).sum()),
        "ERP posted another quantity": int(erp_off.sum()),
        "dock counted another quantity": int(dock_off.sum()),
        "posted but not scanned": int((both["_merge"] == "left_only").sum()),
        "scanned but not posted": int((both["_merge"] == "right_only").sum()),
        "receipt without delivery": int(receipts["delivery_id"].isna().sum()),
        "scan without delivery": int(scans["delivery_id"].isna().sum()),
    }
    statement = run.published("reconciliation").set_index("finding")
    per_finding = statement[["receipts", "scans"]].max(axis=1).to_dict()
    assert per_finding == {k: v for k, v in expected.items() if v}
    assert statement["erp_cartons"].sum() == receipts["quantity"].sum()
    assert statement["wms_cartons"].sum() == scans["cartons"].sum()

    value = ((both["cartons"].fillna(0) - both["quantity"].fillna(0)) * both["carton_price"]).round(2)
    assert abs(statement["value_difference"].sum() - value.sum()) < 0.01
    by_supplier = run.published("by_supplier").set_index("supplier")
    agreed = pairs[~erp_off & ~dock_off].groupby("supplier").size()
    assert by_supplier["agreed"].to_dict() == agreed.to_dict()
