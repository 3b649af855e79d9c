"""The ledger-reconciliation showcase's reconciliation statement against a few lines of plain pandas over the raw
ledger (Parquet) and bank statement (CSV) (its rows set aside and its amounts off the due are held to the
generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import run_showcase

DUE = 24.50


def _findings_by_hand(ledger: pd.DataFrame, statement: pd.DataFrame) -> pd.DataFrame:
    entries = ledger.drop_duplicates("entry_id")
    lines = statement.drop_duplicates("line_id").dropna(subset=["amount"])
    named, unnamed = entries[entries["member_id"].notna()], entries[entries["member_id"].isna()]
    referenced, unreferenced = lines[lines["mandate_ref"].notna()], lines[lines["mandate_ref"].isna()]
    both = named.merge(referenced, left_on="member_id", right_on="mandate_ref", how="outer",
                       suffixes=("_ledger", "_bank"), indicator=True)
    ledger_off = (both["amount_ledger"] - DUE).abs() >= 0.005
    bank_off = (both["amount_bank"] - DUE).abs() >= 0.005
    paired = both["_merge"] == "both"
    both["finding"] = "agreed"
    both.loc[paired & bank_off, "finding"] = "bank credited another amount"
    both.loc[paired & ledger_off, "finding"] = "ledger posted another amount"
    both.loc[both["_merge"] == "left_only", "finding"] = "entry not credited"
    both.loc[both["_merge"] == "right_only", "finding"] = "credit no entry expects"
    alone = pd.concat([
        pd.DataFrame({"finding": "entry without member", "amount_ledger": unnamed["amount"], "entry_id": 1}),
        pd.DataFrame({"finding": "credit without reference", "amount_bank": unreferenced["amount"], "line_id": 1})])
    return pd.concat([both, alone], ignore_index=True)


def test_the_reconciliation_statement_equals_plain_pandas_over_the_raw_exports() -> None:
    run = run_showcase("ledger-reconciliation")
    ledger = pd.read_parquet(run.data / "ledger.parquet")
    statement = pd.read_csv(run.data / "statement.csv")
    findings = _findings_by_hand(ledger, statement)
    expected = findings.groupby("finding").agg(entries=("entry_id", "count"), credits=("line_id", "count"),
                                               ledger_amount=("amount_ledger", "sum"),
                                               bank_amount=("amount_bank", "sum"))
    published = run.published("reconciliation").set_index("finding")
    assert set(published.index) <= set(expected.index) | {"agreed"}
    for finding, row in expected.iterrows():
        assert published.loc[finding, "entries"] == row["entries"], finding
        assert published.loc[finding, "credits"] == row["credits"], finding
        assert published.loc[finding, "ledger_amount"] == pytest.approx(row["ledger_amount"], abs=0.005), finding
        assert published.loc[finding, "bank_amount"] == pytest.approx(row["bank_amount"], abs=0.005), finding
    # the bank reconciliation statement: the statement's total is the ledger's plus the findings
    bank_total = statement.drop_duplicates("line_id")["amount"].sum()
    ledger_total = ledger.drop_duplicates("entry_id")["amount"].sum()
    assert bank_total - ledger_total == pytest.approx(published["bank_less_ledger"].sum(), abs=0.01)


def test_every_exception_is_listed_with_its_member() -> None:
    run = run_showcase("ledger-reconciliation")
    exceptions = run.published("exceptions")
    members = pd.read_csv(run.data / "members.csv").set_index("member_id")
    named = exceptions.dropna(subset=["member"])
    assert (named["name"] == members.loc[named["member"], "name"].to_numpy()).all()
    assert exceptions["member"].isna().sum() == (exceptions["finding"].isin(
        ["entry without member", "credit without reference"])).sum()
    assert len(exceptions) == run.published("reconciliation").query("finding != 'agreed'")[
        ["entries", "credits"]].max(axis=1).sum()
