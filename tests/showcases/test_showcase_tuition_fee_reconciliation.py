"""The tuition-fee-reconciliation showcase's findings and outstanding balances against a few lines of plain pandas
over the raw CSV and Avro files (the invoices and payments it sets aside are held to the generator's manifest
by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
from showcase_support import run_showcase


def _by_hand(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each known invoice with what was settled against it, and the settled cash no invoice can take."""
    invoices = pd.read_csv(data / "invoices.csv").drop_duplicates("invoice_no").dropna(subset=["amount"])
    invoices = invoices.merge(pd.read_csv(data / "students.csv"), on="student_id")
    with (data / "payments.avro").open("rb") as handle:
        payments = pd.DataFrame(list(fastavro.reader(handle))).drop_duplicates("payment_id")
    settled = payments[payments["status"] == "settled"]
    paid = settled.dropna(subset=["invoice_no"]).set_index("invoice_no")["amount_paid"]
    invoices["paid"] = invoices["invoice_no"].map(paid).fillna(0.0)
    unallocated = settled[~settled["invoice_no"].isin(invoices["invoice_no"])]
    return invoices, unallocated


def test_findings_and_outstanding_per_faculty_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("tuition-fee-reconciliation")
    invoices, unallocated = _by_hand(run.data)
    finding = np.select([invoices["paid"] == 0, (invoices["paid"] - invoices["amount"]).abs() < 0.005,
                         invoices["paid"] < invoices["amount"]], ["unpaid", "paid in full", "paid short"], "paid over")
    summary = run.published("summary").set_index("finding")
    counts = pd.Series(finding).value_counts()
    for name in ["paid in full", "paid short", "paid over", "unpaid"]:
        assert summary.loc[name, "invoices"] == counts.get(name, 0)
    assert summary["invoiced"].sum() == round(invoices["amount"].sum(), 2)
    # the summary's received includes payments naming an invoice that was set aside, not those naming none
    received = invoices["paid"].sum() + unallocated["amount_paid"][unallocated["invoice_no"].notna()].sum()
    assert abs(summary["received"].sum() - received) < 0.01
    assert len(run.published("unallocated")) == len(unallocated)

    owed = (invoices["amount"] - invoices["paid"]).clip(lower=0)
    faculties = run.published("by_faculty").set_index("faculty")
    expected = owed.groupby(invoices["faculty"]).sum().round(2)
    assert (faculties["outstanding"] - expected.loc[faculties.index]).abs().max() < 0.01
    assert faculties["invoices"].to_dict() == invoices["faculty"].value_counts().to_dict()
    assert faculties["outstanding"].sum() == summary["outstanding"].sum().round(2)
