"""The broker-trades showcase's euro figures against a few lines of plain pandas over the two brokers' raw feeds
(its trades set aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from showcase_support import run_showcase

EUR_PER = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17}  # the pipeline's default fixing


def _trades_by_hand(data: Path) -> pd.DataFrame:
    alder = pd.read_csv(data / "alder_trades.csv").assign(broker="alder")
    birch = pd.read_json(data / "birch_trades.jsonl", lines=True, dtype=False)
    codes = pd.read_json(data / "birch_codes.jsonl", lines=True).set_index("symbol")["isin"]
    birch = pd.DataFrame({
        "trade_id": birch["ref"], "traded_at": birch["executed_at"], "isin": birch["symbol"].map(codes),
        "side": birch["direction"].map({"B": "BUY", "S": "SELL"}), "quantity": birch["qty"],
        "price": birch["price_minor"] / 100, "commission": birch["fee_minor"] / 100,
        "currency": birch["ccy"].map({"840": "USD", "978": "EUR", "826": "GBP"}), "broker": "birch"})
    trades = pd.concat([alder, birch], ignore_index=True).drop_duplicates("trade_id")
    good = (trades["quantity"].between(1, 5000) & trades["price"].between(0.5, 2000)
            & trades["side"].isin(["BUY", "SELL"]) & trades["currency"].isin(list(EUR_PER)))
    instruments = pd.read_json(data / "instruments.jsonl", lines=True)
    trades = trades[good].merge(instruments, on="isin")
    rate = trades["currency"].map(EUR_PER)
    notional = (trades["quantity"] * trades["price"] * rate).round(2)
    return trades.assign(notional=notional, signed=notional.where(trades["side"] == "BUY", -notional),
                         fees=(trades["commission"] * rate).round(2), day=trades["traded_at"].str[:10])


def test_daily_notional_per_asset_class_equals_plain_pandas_over_the_raw_feeds() -> None:
    run = run_showcase("broker-trades")
    trades = _trades_by_hand(run.data)
    expected = trades.groupby(["day", "asset_class"]).agg(
        trades=("trade_id", "size"), notional=("notional", "sum"), net=("signed", "sum")).reset_index()
    daily = run.published("daily")
    assert daily[["day", "asset_class"]].values.tolist() == expected[["day", "asset_class"]].values.tolist()
    assert daily["trades"].tolist() == expected["trades"].tolist()
    # each trade is rounded to the cent: DuckDB rounds a half cent away from zero, pandas to even
    assert (daily["notional_eur"] - expected["notional"]).abs().max() < 0.05
    assert (daily["net_bought_eur"] - expected["net"]).abs().max() < 0.05
    assert len(run.published("conformed_trades")) == len(trades)


def test_each_brokers_commission_in_basis_points_equals_plain_pandas() -> None:
    run = run_showcase("broker-trades")
    trades = _trades_by_hand(run.data)
    sums = trades.groupby("broker")[["notional", "fees"]].sum()
    by_broker = run.published("by_broker").set_index("broker")
    assert by_broker["trades"].to_dict() == trades["broker"].value_counts().to_dict()
    assert (by_broker["commission_eur"] - sums["fees"]).abs().max() < 0.05
    assert (by_broker["fee_bps"] - sums["fees"] / sums["notional"] * 10_000).abs().max() < 0.001
    published = run.published("conformed_trades").set_index("trade_id")
    birch = published[published["broker"] == "birch"]
    assert birch["isin"].notna().all() and set(birch["currency"]) <= set(EUR_PER)
