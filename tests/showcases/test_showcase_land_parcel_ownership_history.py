"""The land-parcel-ownership-history showcase's history against a few lines of plain pandas over the raw JSON lines
(its set-aside transfers are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
from showcase_support import run_showcase

KINDS = {"private person", "company", "municipality", "housing association", "trust"}
AS_OF = pd.Timestamp("2025-07-01", tz="UTC")


def transfers(data) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The register, and every transfer the history must hold (both registries, in one schema, trusted only)."""
    parcels = pd.read_json(data / "parcels.jsonl", lines=True)
    deeds = pd.read_json(data / "deeds.jsonl", lines=True)
    heirs = pd.read_json(data / "inheritances.jsonl", lines=True)
    deeds = deeds.drop_duplicates("deed_id").rename(columns={
        "deed_id": "transfer_id", "transferred_at": "at", "buyer_party": "owner", "buyer_type": "kind"})
    heirs = heirs.drop_duplicates("estate_id").rename(columns={
        "estate_id": "transfer_id", "registered_at": "at", "heir_party": "owner", "heir_type": "kind"})
    both = pd.concat([deeds.assign(how="sale"), heirs.assign(how="inheritance")], ignore_index=True)
    good = (both["owner"].notna() & both["kind"].isin(KINDS)
            & (both["price_eur"].isna() | both["price_eur"].between(5000, 5_000_000))
            & both["parcel_id"].isin(parcels["parcel_id"]))
    good_transfers = both[good].assign(at=lambda f: pd.to_datetime(f["at"], utc=True))
    return parcels, good_transfers


def test_the_history_equals_each_parcels_transfers_in_order() -> None:
    run = run_showcase("land-parcel-ownership-history")
    parcels, moves = transfers(run.data)
    history = run.published("ownership_history")
    # a version per parcel on 1 January and one per transfer; versions in the order the transfers took effect
    assert len(history) == len(parcels) + len(moves)
    owners = moves.sort_values("at").groupby("parcel_id")["owner"].agg(list)
    published = history.sort_values(["parcel_id", "version"]).groupby("parcel_id")["owner_party"].agg(list)
    opening = parcels.set_index("parcel_id")["owner_party"]
    for parcel_id, chain in published.items():
        assert chain == [opening[parcel_id], *owners.get(parcel_id, [])], parcel_id

    # ownership at as_of: the last transfer before then, else the opening owner
    before = moves[moves["at"] <= AS_OF].sort_values("at").groupby("parcel_id")["kind"].last()
    kind_then = parcels.set_index("parcel_id")["owner_type"].copy()
    kind_then.update(before)
    frame = parcels.assign(kind=parcels["parcel_id"].map(kind_then))
    expected = frame.groupby(["municipality", "kind"]).size()
    as_of = run.published("ownership_as_of").set_index(["municipality", "owner_type"])["parcels"]
    assert as_of.to_dict() == expected.to_dict()


def test_turnover_and_resold_parcels_equal_plain_pandas() -> None:
    run = run_showcase("land-parcel-ownership-history")
    parcels, moves = transfers(run.data)
    moves = moves.merge(parcels[["parcel_id", "municipality"]], on="parcel_id")
    moves["quarter"] = moves["at"].dt.year.astype(str) + "-Q" + moves["at"].dt.quarter.astype(str)
    expected = moves.groupby(["municipality", "quarter"]).agg(
        sales=("how", lambda h: int((h == "sale").sum())),
        inheritances=("how", lambda h: int((h == "inheritance").sum())), parcels=("parcel_id", "nunique"))
    turnover = run.published("turnover").set_index(["municipality", "quarter"]).sort_index()
    assert turnover[["sales", "inheritances"]].to_dict("list") == expected[["sales", "inheritances"]].to_dict("list")
    assert turnover["parcels_changed_hands"].tolist() == expected["parcels"].tolist()

    sales = moves[moves["how"] == "sale"]
    resold = sales.groupby("parcel_id").filter(lambda g: len(g) >= 2)
    published = run.published("resold_parcels")
    assert sorted(published["parcel_id"]) == sorted(resold["parcel_id"])
    assert published["price_eur"].sum() == resold["price_eur"].sum()
