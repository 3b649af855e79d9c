"""The claims-remittance showcase's reconciliation statement and what each commissioner owes, against a few lines
of plain pandas over the raw CSV claims and JSON lines remittance (its rows set aside and its findings' rows are
held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from showcase_support import run_showcase

TARIFF = 156.00


def _matched_by_hand(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    claims = pd.read_csv(data / "claims.csv").drop_duplicates("claim_id")
    commissioners = pd.read_json(data / "commissioners.jsonl", lines=True)
    claims = claims.merge(commissioners[["commissioner_id", "commissioner"]], on="commissioner_id", how="left")
    claims["commissioner"] = claims["commissioner"].fillna("unknown commissioner")
    lines = pd.read_json(data / "remittance.jsonl", lines=True, dtype=False).drop_duplicates("remit_id")
    lines = lines[lines["paid"].notna()]
    matched = claims.merge(lines[lines["claim_ref"].notna()], left_on="claim_id", right_on="claim_ref", how="left")
    return claims, lines, matched


def test_the_reconciliation_statement_equals_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("claims-remittance")
    claims, lines, matched = _matched_by_hand(run.data)
    paid = matched["paid"].notna()
    billed_right = (matched["billed"] - TARIFF).abs() < 0.005
    finding = pd.Series("paid another amount", index=matched.index)
    finding[paid & billed_right & ((matched["paid"] - matched["billed"]).abs() < 0.005)] = "paid as billed"
    finding[paid & ~billed_right] = "billed another amount"
    finding[~paid] = "claim not paid"
    expected = matched.groupby(finding).agg(claims=("claim_id", "size"), billed=("billed", "sum"),
                                            paid=("paid", "sum"))
    published = run.published("reconciliation").set_index("finding")
    for name, row in expected.iterrows():
        assert published.loc[name, "claims"] == row["claims"], name
        assert published.loc[name, "billed"] == pytest.approx(row["billed"], abs=0.005), name
        assert published.loc[name, "paid"] == pytest.approx(row["paid"], abs=0.005), name
    unallocated = lines[lines["claim_ref"].isna()]
    assert published.loc["payment without claim reference", "payments"] == len(unallocated)
    # the statement adds up: what was paid is what was billed plus every finding's difference
    assert lines["paid"].sum() == pytest.approx(claims["billed"].sum() + published["paid_less_billed"].sum(), abs=0.01)


def test_what_each_commissioner_owes_equals_plain_pandas() -> None:
    run = run_showcase("claims-remittance")
    _, _, matched = _matched_by_hand(run.data)
    matched["days"] = (pd.to_datetime(matched["paid_at"], utc=True).dt.floor("D")  # calendar days apart
                       - pd.to_datetime(matched["session_at"], utc=True).dt.floor("D")).dt.days
    expected = matched.groupby("commissioner").agg(
        claims=("claim_id", "size"), billed=("billed", "sum"), paid=("paid", "sum"),
        unpaid=("paid", lambda p: int(p.isna().sum())), days=("days", "mean"))
    published = run.published("by_commissioner").set_index("commissioner")
    assert list(published.index) == list(expected.index)
    assert published["claims"].tolist() == expected["claims"].tolist()
    assert published["unpaid_claims"].tolist() == expected["unpaid"].tolist()
    assert (published["outstanding"] - (expected["billed"] - expected["paid"])).abs().max() < 0.01
    assert (published["mean_days_to_pay"] - expected["days"]).abs().max() <= 0.0501
    unknown = run.published("unknown_commissioner")
    assert set(unknown["claim_id"]) == set(matched.loc[matched["commissioner"] == "unknown commissioner", "claim_id"])
