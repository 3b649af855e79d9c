"""The procurement-split-anomalies showcase's anomalies against a few lines of plain pandas over the raw JSON lines
(its set-aside orders are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from showcase_support import run_showcase

THRESHOLD = 50_000


def expected_anomalies(data) -> pd.Series:
    orders = pd.read_json(data / "purchase_orders.jsonl", lines=True).drop_duplicates("po_id")
    good = (orders["supplier_id"].notna() & orders["amount_eur"].between(1, 2_000_000)
            & orders["procedure"].isin(["direct award", "open tender", "restricted tender"]))
    orders = orders[good].copy()
    orders["awarded_at"] = pd.to_datetime(orders["awarded_at"], utc=True)
    # robust z of the log amount within its category
    logs = np.log(orders["amount_eur"])
    median = logs.groupby(orders["category"]).transform("median")
    mad = (logs - median).abs().groupby(orders["category"]).transform("median")
    z = ((logs - median) / (1.4826 * mad)).round(2)
    # direct awards under the threshold, same department and supplier, in the 14 days up to each order
    small = (orders["procedure"] == "direct award") & (orders["amount_eur"] <= THRESHOLD)
    orders["small_eur"] = orders["amount_eur"].where(small, 0.0)
    orders["small_n"] = small.astype(int)
    timed = orders.sort_values("awarded_at").set_index("awarded_at")
    rolled = timed.groupby(["department", "supplier_id"])[["small_eur", "small_n"]].rolling("14D", closed="both").sum()
    rolled.index = timed.groupby(["department", "supplier_id"])["po_id"].apply(list).explode().to_numpy()
    window = rolled.reindex(orders["po_id"]).set_axis(orders.index)
    over = (orders["procedure"] == "direct award") & (orders["amount_eur"] > THRESHOLD)
    split = small & (window["small_n"] >= 2) & (window["small_eur"] > THRESHOLD)
    outlier = z.abs() > 3.0
    why = pd.Series("", index=orders.index)
    for flag, words in ((over, "direct award over the threshold"), (split, "possible split purchase"),
                        (outlier, "amount outlier for its category")):
        why = why.where(~flag, why.where(why == "", why + "; ") + words)
    return pd.Series(why.to_numpy(), index=orders["po_id"])[why.to_numpy() != ""]


@pytest.mark.parametrize("scale", [0.2, 1.0], ids=["tiny", "default"])   # the tiny data set has few splits
def test_the_anomalies_equal_plain_pandas_over_the_raw_file(scale: float) -> None:
    run = run_showcase("procurement-split-anomalies", scale=scale)
    expected = expected_anomalies(run.data)
    published = run.published("anomalies").set_index("po_id")["anomaly"]
    assert published.sort_index().to_dict() == expected.sort_index().to_dict()


def test_the_worklist_puts_the_departments_with_most_anomalies_first() -> None:
    anomalies = run_showcase("procurement-split-anomalies").published("anomalies")
    assert anomalies["department_anomalies"].is_monotonic_decreasing
    counts = anomalies.groupby("department").size()
    assert (anomalies["department"].map(counts) == anomalies["department_anomalies"]).all()
