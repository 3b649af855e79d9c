"""The card-fx-settlements showcase's euro figures against a few lines of plain pandas over the raw JSON lines
(its records set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py), and
its late records against the rate of the day they were authorised."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase


def _json(path: Path) -> pd.DataFrame:
    # precise_float: pandas' fast float parser can be a bit off the double the text stands for
    return pd.read_json(path, lines=True, dtype=False, precise_float=True)


def _rates(data: Path) -> pd.DataFrame:
    wide = _json(data / "scheme_rates.jsonl").assign(EUR=1.0)
    wide["day"] = wide["rate_date"].str[:10]
    return wide.melt(id_vars="day", value_vars=["EUR", "USD", "GBP", "CHF", "SEK"], var_name="currency",
                     value_name="rate")


def _converted_by_hand(data: Path) -> pd.DataFrame:
    files = sorted(data.glob("settlements/*/part-*.jsonl"))
    settlements = pd.concat([_json(f).assign(file_day=f.parent.name[5:]) for f in files], ignore_index=True)
    settlements = settlements.drop_duplicates("settlement_id")
    good = (settlements["amount"].between(0.5, 10_000)
            & settlements["entry_mode"].isin(["chip", "contactless", "online", "wallet"]))
    cards = _json(data / "cards.jsonl")[["card_id", "tier"]]
    merchants = _json(data / "merchants.jsonl")
    rows = settlements[good].merge(cards, on="card_id").merge(merchants, on="merchant_id")
    rows = rows.assign(day=rows["authorised_at"].str[:10]).merge(_rates(data), on=["day", "currency"])
    eur = (rows["amount"] / rows["rate"]).round(2)
    markup = pd.Series(0.0175, index=rows.index).mask(rows["tier"] == "platinum", 0.01)
    return rows.assign(eur=eur, markup=(eur * markup.mask(rows["currency"] == "EUR", 0.0)).round(2))


def test_spend_and_markup_per_tier_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("card-fx-settlements")
    rows = _converted_by_hand(run.data)
    by_tier = run.published("by_tier").set_index("tier")
    sums = rows.groupby("tier").agg(n=("settlement_id", "size"), eur=("eur", "sum"), markup=("markup", "sum"))
    foreign = rows[rows["currency"] != "EUR"].groupby("tier")["eur"].sum() / sums["eur"]
    assert by_tier["settlements"].to_dict() == sums["n"].to_dict()
    # each record is rounded to the cent: DuckDB rounds a half cent away from zero, pandas to even
    assert (by_tier["spend_eur"] - sums["eur"]).abs().max() < 0.05
    assert (by_tier["fx_markup_eur"] - sums["markup"]).abs().max() < 0.05
    assert (by_tier["foreign_share"] - foreign).abs().max() <= 0.0001
    daily = run.published("daily").set_index(["day", "currency"])
    by_day = rows.groupby(["day", "currency"])["eur"].sum()
    assert sorted(daily.index) == sorted(by_day.index)
    assert (daily["amount_eur"] - by_day.loc[daily.index].values).abs().max() < 0.05


def test_late_records_are_converted_at_the_rate_of_the_day_they_were_authorised() -> None:
    run = run_showcase("card-fx-settlements")
    rows = _converted_by_hand(run.data).set_index("settlement_id")
    late = set(run.manifest.tables["settlements"].defects["late"].keys) & set(rows.index)
    moved = rows.loc[sorted(late)]
    moved = moved[moved["file_day"] != moved["day"]]
    assert len(moved) > 0  # late records that a later day's file brought
    converted = run.rows("converted").set_index("settlement_id")
    assert (converted.loc[moved.index, "units_per_eur"].values == moved["rate"].values).all()
    assert (converted.loc[moved.index, "amount_eur"] - moved["eur"]).abs().max() <= 0.01
