"""The carrier-invoices showcase's findings against a few lines of plain pandas over the raw CSV and Parquet
files (the lines it sets aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from showcase_support import run_showcase

CONTRACT = 6.90 + 0.55


def test_the_findings_equal_plain_pandas_and_add_up_to_the_invoice() -> None:
    run = run_showcase("carrier-invoices")
    lines = pd.read_csv(run.data / "invoice_lines.csv").drop_duplicates("line_no")
    bookings = pd.read_parquet(run.data / "bookings.parquet")
    lines["billed"] = (lines["freight"] + lines["fuel_surcharge"]).round(2)
    status = lines["shipment_id"].map(bookings.set_index("shipment_id")["status"])

    no_booking = lines[status.isna()]
    cancelled = lines[status == "cancelled"]
    shipped = lines[status == "shipped"]
    charged = shipped[shipped["billed"].notna()]
    off = charged[(charged["billed"] - CONTRACT).abs() >= 0.005]
    invoiced = set(lines["shipment_id"].dropna())
    not_invoiced = bookings[(bookings["status"] == "shipped") & ~bookings["shipment_id"].isin(invoiced)]

    assert sorted(run.published("no_booking")["line_no"]) == sorted(no_booking["line_no"])
    assert sorted(run.published("cancelled")["line_no"]) == sorted(cancelled["line_no"])
    assert sorted(run.published("off_contract")["line_no"]) == sorted(off["line_no"])
    assert sorted(run.published("not_invoiced")["shipment_id"]) == sorted(not_invoiced["shipment_id"])

    summary = run.published("summary").set_index("outcome")
    off_contract = summary.loc["billed off contract"]
    difference = off["billed"] - CONTRACT
    assert off_contract["overcharged"] == pytest.approx(difference[difference > 0].sum(), abs=0.006)
    assert off_contract["undercharged"] == pytest.approx(-difference[difference < 0].sum(), abs=0.006)
    assert summary.loc["invoiced, cancelled", "invoiced"] == pytest.approx(cancelled["billed"].sum(), abs=0.006)
    assert summary.loc["shipped, not invoiced", "contract_value"] == pytest.approx(len(not_invoiced) * CONTRACT)
    # The invoice's total (of the lines with a charge) is the sum of the findings.
    assert summary["invoiced"].sum() == pytest.approx(lines["billed"].sum(), abs=0.01)
