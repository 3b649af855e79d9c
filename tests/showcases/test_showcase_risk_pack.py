"""The risk-pack showcase's four reports against a few lines of plain pandas over the raw Parquet extracts (the
rows each branch sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase


def _read(data: Path, pattern: str) -> pd.DataFrame:
    return pd.concat([pq.read_table(p).to_pandas() for p in sorted(data.glob(pattern))], ignore_index=True)


def test_the_ten_largest_counterparties_and_their_shares() -> None:
    run = run_showcase("risk-pack")
    positions = _read(run.data, "positions.parquet").drop_duplicates("position_id")
    positions = positions[positions["exposure_usd"].between(0, 100_000_000)]
    positions = positions[positions["cpty_id"].isin(_read(run.data, "counterparties.parquet")["cpty_id"])]
    per_cpty = positions.groupby("cpty_id")["exposure_usd"].sum()
    top = per_cpty.reset_index().sort_values(["exposure_usd", "cpty_id"], ascending=[False, True]).head(10)
    concentration = run.published("concentration")
    assert concentration["cpty_id"].tolist() == top["cpty_id"].tolist()
    assert abs(concentration["exposure_usd"].values - top["exposure_usd"].values).max() < 0.01
    shares = top["exposure_usd"] / per_cpty.sum()
    assert abs(concentration["share"].values - shares.values).max() <= 0.00005
    assert abs(concentration["share_so_far"].iloc[-1] - shares.sum()) <= 0.00005


def test_var_exceptions_and_trading_activity_per_desk() -> None:
    run = run_showcase("risk-pack")
    pnl = _read(run.data, "pnl.parquet").dropna(subset=["pnl_usd"])
    backtest = pnl.assign(exception=-pnl["pnl_usd"] > pnl["var99_usd"]).groupby("desk_id").agg(
        days=("pnl_id", "size"), exceptions=("exception", "sum"), worst=("pnl_usd", "min"))
    published = run.published("var_backtesting").set_index("desk_id")
    assert published["days"].to_dict() == backtest["days"].to_dict()
    assert published["exceptions"].to_dict() == backtest["exceptions"].to_dict()
    assert published["worst_day_usd"].to_dict() == backtest["worst"].to_dict()

    trades = _read(run.data, "trades/*/part-*.parquet").drop_duplicates("trade_id")
    trades = trades[trades["status"].isin(["booked", "amended", "cancelled"])
                    & trades["desk_id"].isin(_read(run.data, "desks.parquet")["desk_id"])]
    activity = trades.groupby("desk_id").agg(trades=("trade_id", "size"),
                                             cancelled=("status", lambda s: (s == "cancelled").sum()))
    published = run.published("trade_activity").set_index("desk_id")
    assert published["trades"].to_dict() == activity["trades"].to_dict()
    assert published["cancelled"].to_dict() == activity["cancelled"].to_dict()


def test_margin_outstanding_by_status_and_age() -> None:
    run = run_showcase("risk-pack")
    calls = _read(run.data, "margin_calls.parquet").drop_duplicates("call_id").dropna(subset=["amount_usd"])
    calls = calls[calls["cpty_id"].isin(_read(run.data, "counterparties.parquet")["cpty_id"])
                  & calls["status"].isin(["pending", "disputed"])]
    month_end = pd.Timestamp("2026-03-31 23:59:59", tz="UTC")
    age = (month_end.normalize() - calls["called_at"].dt.floor("D")).dt.days  # calendar days, as date_diff counts
    bucket = pd.cut(age, [-1, 5, 15, 30, 10_000], labels=["00-05d", "06-15d", "16-30d", "31d+"]).astype(str)
    expected = calls.assign(bucket=bucket).groupby(["status", "bucket"]).agg(
        calls=("call_id", "size"), amount=("amount_usd", "sum"))
    published = run.published("margin_outstanding").set_index(["status", "age_bucket"])
    assert published.index.tolist() == expected.index.tolist()
    assert published["calls"].tolist() == expected["calls"].tolist()
    assert (published["amount_usd"] - expected["amount"].values).abs().max() < 0.01
