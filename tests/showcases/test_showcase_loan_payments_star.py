"""The loan-payments-star showcase's collections against a few lines of plain pandas over the raw Avro files,
and its fact's surrogate keys against the natural keys they replaced (its payments set aside and unmatched are
held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import raw_avro, run_showcase


def _payments_by_hand(data: Path) -> pd.DataFrame:
    payments = raw_avro(data, "payments/*/part-*.avro").drop_duplicates("payment_id")
    good = (payments["amount"].between(10, 20_000) & payments["days_past_due"].between(0, 75)
            & payments["channel"].isin(["direct_debit", "transfer", "branch"]))
    payments = payments[good]
    borrowers = raw_avro(data, "borrowers.avro")[["borrower_id", "credit_grade"]]
    products = raw_avro(data, "products.avro")[["product_code", "product_type"]]
    payments = payments.merge(borrowers, on="borrower_id", how="left").merge(products, on="product_code")
    return payments.assign(credit_grade=payments["credit_grade"].fillna("unknown"),
                           month=pd.to_datetime(payments["paid_at"], utc=True).dt.strftime("%Y-%m"),
                           late=payments["amount"].where(payments["days_past_due"] >= 30, 0.0))


def test_collections_per_month_product_and_grade_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("loan-payments-star")
    payments = _payments_by_hand(run.data)
    expected = payments.groupby(["month", "product_type", "credit_grade"]).agg(
        payments=("payment_id", "size"), collected=("amount", "sum"), late=("late", "sum")).reset_index()
    collections = run.published("collections")
    keys = ["month", "product_type", "credit_grade"]
    assert sorted(map(tuple, collections[keys].values)) == sorted(map(tuple, expected[keys].values))
    merged = collections.merge(expected, on=keys)
    assert (merged["payments_x"] == merged["payments_y"]).all()
    assert (merged["collected_x"] - merged["collected_y"]).abs().max() < 0.006
    assert (merged["collected_30_plus_dpd"] - merged["late"]).abs().max() < 0.006
    assert (merged["share_30_plus_dpd"] - merged["late"] / merged["collected_y"]).abs().max() <= 0.00005


def test_the_facts_surrogate_keys_point_at_the_natural_keys_they_replaced() -> None:
    run = run_showcase("loan-payments-star")
    raw = _payments_by_hand(run.data).set_index("payment_id")
    fact = run.published("payment_fact").set_index("payment_id")
    assert sorted(fact.index) == sorted(raw.index)
    borrowers = run.published("borrower_dim").set_index("borrower_key")["borrower_id"]
    branches = run.published("branch_dim").set_index("branch_key")["branch_code"]
    known = fact["borrower_key"] != 0
    assert (borrowers.loc[fact.loc[known, "borrower_key"]].values == raw.loc[fact.index[known], "borrower_id"]).all()
    known = fact["branch_key"] != 0
    assert (branches.loc[fact.loc[known, "branch_key"]].values == raw.loc[fact.index[known], "branch_code"]).all()
    days = run.published("date_dim").set_index("date_key")["calendar_date"].astype(str)
    paid_on = pd.to_datetime(raw.loc[fact.index, "paid_at"], utc=True).dt.strftime("%Y-%m-%d")
    assert (days.loc[fact["date_key"]].values == paid_on.values).all()
    unknown_borrowers = set(fact.index[fact["borrower_key"] == 0])
    unmatched = run.published("unmatched_payments")
    assert unknown_borrowers == set(unmatched.loc[unmatched["dimension"] == "borrowers", "payment_id"])
