"""The wire-screening showcase's released and held totals against a few lines of plain pandas over the raw
Parquet files (its wires set aside are held to the generator's manifest by its expect.yaml,
tests/test_showcases.py; the sanctions hits, which the generator does not mark, are found again here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase


def _processable_by_hand(data: Path) -> pd.DataFrame:
    wires = pd.concat([pq.read_table(p).to_pandas() for p in sorted(data.glob("wires/*/part-*.parquet"))],
                      ignore_index=True).drop_duplicates("wire_id")
    accounts = pq.read_table(data / "accounts.parquet").to_pandas()
    beneficiaries = pq.read_table(data / "beneficiaries.parquet").to_pandas()
    wires = wires[wires["amount_eur"].between(1, 5_000_000)]
    wires = wires[wires["account_id"].isin(accounts["account_id"])]
    wires = wires[wires["beneficiary_id"].isin(beneficiaries["party_id"])]
    listed = set(pq.read_table(data / "sanctions_list.parquet").to_pandas()["party_id"])
    iban_ok = wires["beneficiary_iban"].str.fullmatch(r"[A-Z]{2}\d{2}[A-Z]{4}\d{14}")
    outcome = pd.Series("released", index=wires.index).mask(wires["beneficiary_id"].isin(listed), "sanctions_hit")
    return wires.assign(outcome=outcome.mask(~iban_ok, "invalid_iban"),
                        day=wires["submitted_at"].dt.strftime("%Y-%m-%d"))


def test_released_and_held_per_day_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("wire-screening")
    wires = _processable_by_hand(run.data)
    eur = wires.pivot_table(index="day", columns="outcome", values="amount_eur", aggfunc="sum", fill_value=0)
    count = wires.pivot_table(index="day", columns="outcome", values="wire_id", aggfunc="size", fill_value=0)
    daily = run.published("daily").assign(day=lambda d: d["day"].astype(str)).set_index("day")
    assert daily.index.tolist() == eur.index.tolist()
    assert (daily["released_eur"] - eur["released"]).abs().max() < 0.01
    assert (daily["held_eur"] - eur["sanctions_hit"] - eur["invalid_iban"]).abs().max() < 0.01
    assert daily["released_wires"].tolist() == count["released"].tolist()
    assert daily["sanctions_hits"].tolist() == count["sanctions_hit"].tolist()
    assert daily["invalid_ibans"].tolist() == count["invalid_iban"].tolist()
    assert (daily["held_share"] - daily["held_eur"] / daily["submitted_eur"]).abs().max() <= 0.00005


def test_the_held_wires_are_the_listed_beneficiaries_and_the_broken_ibans() -> None:
    run = run_showcase("wire-screening")
    wires = _processable_by_hand(run.data)
    held = run.published("held")
    for reason in ("sanctions_hit", "invalid_iban"):
        published = set(held.loc[held["held_because"] == reason, "wire_id"])
        assert published == set(wires.loc[wires["outcome"] == reason, "wire_id"]), reason
    hits = held[held["held_because"] == "sanctions_hit"]
    assert hits["programmes"].notna().all() and len(hits) > 0
