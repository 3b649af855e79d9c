"""The budget-reconciliation showcase's variance per department against a few lines of plain pandas over the raw
CSV files (the rows it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase


def test_variance_per_department_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("budget-reconciliation")
    data = run.data
    lines = pd.read_csv(data / "budget_lines.csv")
    spending = pd.read_csv(data / "spending.csv").drop_duplicates("spend_id")
    posted = pd.to_datetime(spending["posted_on"], utc=True)
    spending = spending[spending["amount"].between(0.01, 100_000)
                        & (posted >= pd.Timestamp("2025-04-01", tz="UTC"))
                        & (posted < pd.Timestamp("2026-04-01", tz="UTC"))
                        & spending["fund"].isin(["general", "ring-fenced", "capital"])]
    payments = pd.read_csv(data / "payments.csv").drop_duplicates("payment_id")
    payments = payments[payments["amount"].between(0.01, 100_000)]
    department = lines.set_index("line_id")["department_id"]
    spent = spending.groupby(spending["line_id"].map(department))["amount"].sum()  # unknown lines map to NaN
    paid = payments.groupby(payments["line_id"].map(department))["amount"].sum()
    approved = lines.groupby("department_id")["approved"].sum()

    variance = run.published("variance").set_index("department_id")
    assert variance["approved"].to_dict() == approved.to_dict()
    assert (variance["spent"] - spent.reindex(variance.index, fill_value=0)).abs().max() < 0.01
    assert (variance["paid"] - paid.reindex(variance.index, fill_value=0)).abs().max() < 0.01
    assert (variance["variance"] - (spent - approved).reindex(variance.index)).abs().max() < 0.01
    assert (variance["unpaid"] - (spent - paid).reindex(variance.index)).abs().max() < 0.01


def test_the_lines_add_up_to_the_departments_and_every_line_is_reported() -> None:
    run = run_showcase("budget-reconciliation")
    lines = run.published("lines")
    assert sorted(lines["line_id"]) == sorted(pd.read_csv(run.data / "budget_lines.csv")["line_id"])
    per_department = lines.groupby("department_id")[["approved", "spent", "paid"]].sum()
    variance = run.published("variance").set_index("department_id")
    assert (per_department - variance[["approved", "spent", "paid"]]).abs().max().max() < 0.01
    assert set(run.published("set_aside")["set_aside_as"]) <= {
        "duplicate_posting", "posting_to_unknown_line", "duplicate_payment", "payment_to_unknown_line"}
