"""The data generator: what a data.yaml declares is what the files hold, the manifest says exactly which rows
carry each defect (recounted here from the files, read with fastavro, pandas and json), and the same spec and
seed give the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_datagen import Manifest, generate, parse_spec

DAY_MS = 86_400_000


def spec(tables: dict[str, Any]) -> Any:
    return parse_spec({"tables": tables}, file="data.yaml")


# -- reading the files back, without the generator's code ------------------------------------------------------

def read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".avro":
        with path.open("rb") as fo:
            return pd.DataFrame(list(fastavro.reader(fo)))
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".jsonl":
        return pd.DataFrame([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()])
    return pd.read_parquet(path)


def read_table(out: Path, table: dict[str, Any]) -> pd.DataFrame:
    """A table's files in name order (as io.read takes them), a drifted column under its declared name."""
    parts = []
    for name in sorted(table["files"]):
        frame = read_file(out / name)
        for drift in table["schema_drift"]:
            if name in drift["files"] and drift["rename"]:
                frame = frame.rename(columns={drift["rename"]: drift["column"]})
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def times(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601") if values.dtype == object or \
        pd.api.types.is_string_dtype(values) else pd.to_datetime(values, utc=True)


def lateness_ms(values: pd.Series) -> pd.Series:
    """How far each row's time is behind the newest time before it in file order."""
    t = times(values)
    return (t.cummax().shift() - t).dt.total_seconds() * 1000


def found(kind: str, entry: dict[str, Any], frame: pd.DataFrame, table: dict[str, Any],
          frames: dict[str, pd.DataFrame]) -> pd.Series:
    """The rows of ``frame`` that have the defect ``kind``, found the way docs/datagen.md says."""
    what, _, column = kind.partition(".")
    if what == "duplicates":
        return frame.duplicated(subset=[table["key"]])
    if what == "nulls":
        return frame[column].isna()
    if what == "orphans":
        parent, key = entry["references"].split(".")
        return frame[column].notna() & ~frame[column].isin(frames[parent][key])
    if what == "out_of_range":
        low, high = entry["range"]
        values = frame[column]
        if table["columns"][column] == "timestamp":
            values, low, high = times(values), pd.Timestamp(low), pd.Timestamp(high)
        return values.notna() & ((values < low) | (values > high))
    if what == "malformed":
        rule = entry["rule"]
        text = frame[column].dropna().astype(str)
        ok = text.str.fullmatch(rule["pattern"]) if "pattern" in rule else text.isin(rule["values"])
        bad = pd.Series(False, index=frame.index)
        bad[ok.index[~ok]] = True
        return bad
    late = lateness_ms(frame[table["time"]])
    least = entry.get("lateness_ms", np.inf)
    return late >= least if what == "late" else (late > 0) & (late < least)


def recount(out: Path) -> dict[str, pd.DataFrame]:
    """Check every table of the manifest against its files; the tables, read."""
    manifest = json.loads((out / "manifest.json").read_text())
    frames = {name: read_table(out, t) for name, t in manifest["tables"].items()}
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == {
        "manifest.json", *(f for t in manifest["tables"].values() for f in t["files"])}
    for name, table in manifest["tables"].items():
        frame = frames[name]
        assert len(frame) == table["rows"] == sum(table["files"].values()), name
        for kind, entry in table["defects"].items():
            mask = found(kind, entry, frame, table, frames)
            assert int(mask.sum()) == entry["count"], (name, kind)
            if table["key"] is not None:
                assert sorted(set(frame.loc[mask, table["key"]].tolist())) == sorted(entry["keys"]), (name, kind)
            else:
                assert np.flatnonzero(mask).tolist() == entry["positions"], (name, kind)
        for column, target in table["references"].items():
            parent, key = target.split(".")
            orphans = table["defects"].get(f"orphans.{column}", {"count": 0})["count"]
            values = frame[column].dropna()
            assert int((~values.isin(frames[parent][key])).sum()) == orphans, (name, column)
    assert manifest["rows"] == sum(t["rows"] for t in manifest["tables"].values())
    return frames


def files_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


# -- a data set with every feature -------------------------------------------------------------------------------

SHOP = {
    "customers": {
        "rows": 40, "fixed": True, "format": "csv", "key": "customer_id",
        "columns": {
            "customer_id": {"distribution": {"kind": "sequence", "start": 1}},
            "name": {"distribution": {"kind": "pattern", "pattern": "Customer {seq:04d}"}},
            "segment": {"distribution": {"kind": "categorical", "values": ["retail", "vip"], "weights": [9, 1]}},
        },
    },
    "products": {
        "rows": 12, "format": "json", "key": "sku",
        "columns": {
            "sku": {"distribution": {"kind": "pattern", "pattern": "SKU-[A-Z]{3}-{seq:04d}"}},
            "price": {"distribution": {"kind": "lognormal", "mean": 3, "sigma": 0.5}, "range": [1, 200],
                      "decimals": 2},
        },
    },
    "orders": {
        "rows": 1500, "format": "avro", "layout": "daily", "key": "order_id", "time": "ordered_at",
        "columns": {
            "order_id": {"distribution": {"kind": "pattern", "pattern": "ORD-{seq:06d}"}},
            "ordered_at": {"distribution": {"kind": "timestamps", "start": "2026-01-05T00:00:00Z",
                                            "end": "2026-01-09T00:00:00Z"}},
            "customer_id": {"distribution": {"kind": "reference", "to": "customers.customer_id", "orphans": 0.02}},
            "sku": {"distribution": {"kind": "reference", "to": "products.sku", "orphans": 0.01}},
            "quantity": {"type": "int", "distribution": {"kind": "uniform", "low": 1, "high": 9}},
            "amount": {"distribution": {"kind": "normal", "mean": 50, "std": 20}, "range": [0, 500], "decimals": 2},
            "channel": {"distribution": {"kind": "categorical", "values": ["web", "app", "store"]}},
            "coupon": {"distribution": {"kind": "pattern", "pattern": "C-[A-Z]{4}"}},
            "promised": {"type": "timestamp", "distribution": {"kind": "uniform", "low": "2026-01-10",
                                                               "high": "2026-01-20"}},
        },
        "defects": {
            "duplicates": 0.02, "nulls": {"amount": 0.03, "channel": 0.01, "customer_id": 0.01},
            "out_of_range": {"quantity": 0.02, "amount": 0.01, "promised": 0.01},
            "malformed": {"coupon": 0, "channel": 0.02},
            "late": {"rate": 0.02, "delay": ["6h", "1d"]}, "out_of_order": 0.03,
            "schema_drift": [{"column": "amount", "rename": "total", "share": 0.5},
                             {"column": "quantity", "type": "float", "share": 0.25}],
        },
    },
    "readings": {
        "format": "parquet", "layout": "daily",
        "series": {"per": "customers.customer_id", "count": 30, "every": "2h", "jitter": "10min",
                   "start": "2026-01-05T00:00:00Z", "time": "read_at"},
        "columns": {"level": {"type": "int", "distribution": {"kind": "uniform", "low": 0, "high": 100}}},
        "defects": {"nulls": {"level": 0.05}, "out_of_range": {"level": 0.02}, "late": {"rate": 0.02,
                                                                                         "delay": ["3h", "5h"]}},
    },
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest, dict[str, pd.DataFrame]]:
    out = tmp_path_factory.mktemp("shop")
    manifest = generate(spec(SHOP), out, seed=11)
    return out, manifest, recount(out)


def test_the_manifest_is_what_the_files_hold(shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]) -> None:
    out, manifest, _ = shop  # recount() compared every defect with the files
    orders = manifest.tables["orders"]
    assert set(orders.defects) == {"duplicates", "nulls.amount", "nulls.channel", "nulls.customer_id",
                                   "orphans.customer_id", "orphans.sku", "out_of_range.quantity",
                                   "out_of_range.amount", "out_of_range.promised", "malformed.coupon",
                                   "malformed.channel", "late", "out_of_order"}
    assert orders.defects["duplicates"].count == 30 and orders.rows == 1530
    assert orders.defects["orphans.customer_id"].count >= 30  # and its duplicates' copies
    assert orders.defects["malformed.coupon"].count == 0
    assert orders.references == {"customer_id": "customers.customer_id", "sku": "products.sku"}
    assert manifest == Manifest.read(out)


def test_each_defect_touches_its_share_of_the_rows(shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]) -> None:
    _, manifest, frames = shop
    orders = manifest.tables["orders"]
    copies = set(orders.defects["duplicates"].keys or ())
    for kind, rate in [("nulls.amount", 0.03), ("nulls.channel", 0.01), ("orphans.sku", 0.01),
                       ("out_of_range.quantity", 0.02), ("malformed.channel", 0.02), ("late", 0.02),
                       ("out_of_order", 0.03)]:
        affected = orders.defects[kind]
        keys = set(affected.keys or ())
        assert len(keys) == round(rate * 1500), kind  # distinct rows before duplication
        assert affected.count == len(keys) + len(keys & copies), kind  # and the copies of those duplicated
    assert frames["orders"].loc[frames["orders"].duplicated(keep=False)].shape[0] == 60  # copies are whole rows


def test_every_foreign_key_references_a_key_except_the_declared_orphans(
    shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]
) -> None:
    _, manifest, frames = shop
    orders = frames["orders"]
    orphans = set(manifest.tables["orders"].defects["orphans.customer_id"].keys or ())
    dangling = orders["customer_id"].notna() & ~orders["customer_id"].isin(frames["customers"]["customer_id"])
    assert set(orders.loc[dangling, "order_id"]) == orphans
    assert orders.loc[dangling, "customer_id"].min() > frames["customers"]["customer_id"].max()  # same form
    assert frames["readings"]["customer_id"].isin(frames["customers"]["customer_id"]).all()
    skus = orders["sku"][~orders["sku"].isin(frames["products"]["sku"])]
    assert skus.str.fullmatch(r"SKU-[A-Z]{3}-\d{4,}").all()


def test_late_and_out_of_order_rows_arrive_behind_newer_rows_in_a_later_partition(
    shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]
) -> None:
    out, manifest, _ = shop
    orders = manifest.tables["orders"]
    late = set(orders.defects["late"].keys or ())
    moved_day = 0
    for name in orders.files:
        frame = read_file(out / name)
        day = name.split("date=")[1][:10]
        own = frame["ordered_at"].dt.strftime("%Y-%m-%d")
        assert (own <= day).all()  # a row is never in a partition before its own day
        moved_day += int(((own < day) & frame["order_id"].isin(late)).sum())
        assert set(frame.loc[own < day, "order_id"]) <= late | set(orders.defects["out_of_order"].keys or ())
    assert moved_day > 0
    assert orders.defects["late"].details == {"lateness_ms": 6 * 3_600_000}


def test_schema_drift_renames_or_retypes_the_column_in_its_share_of_the_files(
    shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]
) -> None:
    out, manifest, _ = shop
    orders = manifest.tables["orders"]
    renamed, retyped = orders.schema_drift
    assert len(orders.files) == 4 and len(renamed["files"]) == 2 and len(retyped["files"]) == 1
    for name in orders.files:
        with (out / name).open("rb") as fo:
            fields = {f["name"]: f["type"] for f in fastavro.reader(fo).writer_schema["fields"]}
        assert ("total" in fields, "amount" in fields) == ((True, False) if name in renamed["files"] else (False, True))
        assert fields["quantity"] == ("double" if name in retyped["files"] else "long")
        assert fields["ordered_at"] == {"type": "long", "logicalType": "timestamp-millis"}
        assert fields["channel"] == ["null", "string"] and fields["order_id"] == "string"


def test_a_series_has_its_count_of_rows_per_key_every_so_long(
    shop: tuple[Path, Manifest, dict[str, pd.DataFrame]]
) -> None:
    _, manifest, frames = shop
    readings = frames["readings"].sort_values(["customer_id", "read_at"], kind="stable")
    assert manifest.tables["readings"].rows == 40 * 30
    assert (readings.groupby("customer_id").size() == 30).all()
    step = readings.groupby("customer_id").cumcount().to_numpy()
    offset = (readings["read_at"] - pd.Timestamp("2026-01-05", tz="UTC")).dt.total_seconds().to_numpy() * 1000
    jitter = offset - step * 2 * 3_600_000
    assert (jitter >= 0).all() and (jitter < 10 * 60_000).all()
    assert manifest.tables["readings"].time == "read_at"


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_values(tmp_path: Path) -> None:
    generate(spec(SHOP), tmp_path / "a", seed=11)
    generate(spec(SHOP), tmp_path / "b", seed=11)
    generate(spec(SHOP), tmp_path / "c", seed=12)
    a, b, c = (files_bytes(tmp_path / d) for d in "abc")
    assert a == b
    assert {p for p in a if p.endswith((".csv", ".jsonl", ".avro", ".parquet"))} == {
        p for p in a if p != "manifest.json"}
    assert all(a[p] != c.get(p) for p in ("customers.csv", "products.jsonl"))


def test_a_column_depends_only_on_the_seed_its_table_and_its_name(tmp_path: Path) -> None:
    one = {"t": {"rows": 50, "format": "parquet", "columns": {
        "x": {"distribution": {"kind": "normal", "mean": 0, "std": 1}}}}}
    two = {"t": {"rows": 50, "format": "parquet", "columns": {
        "w": {"distribution": {"kind": "uniform", "low": 0, "high": 1}},
        "x": {"distribution": {"kind": "normal", "mean": 0, "std": 1}}}}}
    generate(spec(one), tmp_path / "one", seed=4)
    generate(spec(two), tmp_path / "two", seed=4)
    assert pd.read_parquet(tmp_path / "one/t.parquet")["x"].equals(pd.read_parquet(tmp_path / "two/t.parquet")["x"])


def test_scale_multiplies_the_rows_of_every_table_but_fixed_ones(tmp_path: Path) -> None:
    small = generate(spec(SHOP), tmp_path / "s", seed=1, scale=0.5)
    large = generate(spec(SHOP), tmp_path / "l", seed=1, scale=3)
    rows = {name: (small.tables[name].rows, large.tables[name].rows) for name in SHOP}
    assert rows["customers"] == (40, 40)  # fixed
    assert rows["products"] == (6, 36)
    assert rows["orders"] == (750 + 15, 4500 + 90)  # and 2 % duplicates
    assert rows["readings"] == (40 * 30, 40 * 30)  # per key of customers, which is fixed
    assert generate(spec({"t": {"rows": 3, "format": "csv", "columns": {
        "x": {"distribution": {"kind": "sequence"}}}}}), tmp_path / "tiny", scale=0.01).tables["t"].rows == 1


# -- distributions -------------------------------------------------------------------------------------------------

def one_table(tmp_path: Path, columns: dict[str, Any], rows: int = 4000, **table: Any) -> pd.DataFrame:
    generate(spec({"t": {"rows": rows, "format": "parquet", "columns": columns, **table}}), tmp_path, seed=5)
    return pd.read_parquet(tmp_path / "t.parquet")


def test_uniform_values_lie_within_their_bounds(tmp_path: Path) -> None:
    frame = one_table(tmp_path, {
        "i": {"type": "int", "distribution": {"kind": "uniform", "low": -2, "high": 3}},
        "f": {"distribution": {"kind": "uniform", "low": 1.5, "high": 2.5}},
        "t": {"distribution": {"kind": "uniform", "low": "2026-01-01", "high": "2026-01-02"}},
    })
    assert set(frame["i"]) == {-2, -1, 0, 1, 2, 3}  # both ends included
    assert frame["f"].between(1.5, 2.5, inclusive="left").all() and abs(frame["f"].mean() - 2.0) < 0.02
    assert str(frame["t"].dtype) == "datetime64[ms, UTC]"
    assert frame["t"].between(pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-02", tz="UTC"),
                              inclusive="left").all()


def test_normal_and_lognormal_values_have_their_mean_spread_and_range(tmp_path: Path) -> None:
    frame = one_table(tmp_path, {
        "n": {"distribution": {"kind": "normal", "mean": 10, "std": 2}},
        "clipped": {"type": "int", "distribution": {"kind": "normal", "mean": 10, "std": 5}, "range": [5, 15]},
        "ln": {"distribution": {"kind": "lognormal", "mean": 1, "sigma": 0.5}, "decimals": 2},
    }, rows=20_000)
    assert abs(frame["n"].mean() - 10) < 0.05 and abs(frame["n"].std() - 2) < 0.05
    assert frame["clipped"].dtype == np.int64 and frame["clipped"].between(5, 15).all()
    assert {5, 15} <= set(frame["clipped"])
    assert abs(frame["ln"].median() - np.exp(1)) < 0.05 and (frame["ln"] > 0).all()
    assert (frame["ln"].round(2) == frame["ln"]).all()


def test_categorical_values_come_in_their_weights(tmp_path: Path) -> None:
    frame = one_table(tmp_path, {
        "c": {"distribution": {"kind": "categorical", "values": ["a", "b", "c"], "weights": [6, 3, 1]}},
        "n": {"distribution": {"kind": "categorical", "values": [1, 2]}},
        "b": {"distribution": {"kind": "categorical", "values": [True, False], "weights": [0.25, 0.75]}},
    }, rows=20_000)
    shares = frame["c"].value_counts(normalize=True)
    assert abs(shares["a"] - 0.6) < 0.015 and abs(shares["b"] - 0.3) < 0.015 and abs(shares["c"] - 0.1) < 0.01
    assert frame["n"].dtype == np.int64 and set(frame["n"]) == {1, 2}
    assert frame["b"].dtype == bool and abs(frame["b"].mean() - 0.25) < 0.015


def test_sequences_patterns_and_constants(tmp_path: Path) -> None:
    frame = one_table(tmp_path, {
        "id": {"distribution": {"kind": "sequence", "start": 100, "step": 5}},
        "code": {"distribution": {"kind": "pattern", "pattern": "INV-{seq:03d}/[A-C]{2}\\[x\\]", "start": 998}},
        "plate": {"distribution": {"kind": "pattern", "pattern": "[A-Z]{3}-[0-9]{4}"}},
        "currency": {"distribution": {"kind": "constant", "value": "EUR"}},
        "rate": {"type": "float", "distribution": {"kind": "constant", "value": 1}},
    }, rows=1000)
    assert (frame["id"].diff().dropna() == 5).all() and frame["id"].iloc[0] == 100
    assert frame["code"].iloc[0].startswith("INV-998/") and frame["code"].iloc[-1].startswith("INV-1997/")
    assert frame["code"].str.fullmatch(r"INV-\d{3,}/[A-C]{2}\[x\]").all() and frame["code"].is_unique
    assert frame["plate"].str.fullmatch(r"[A-Z]{3}-[0-9]{4}").all() and frame["plate"].nunique() > 990
    assert (frame["currency"] == "EUR").all() and (frame["rate"] == 1.0).all() and frame["rate"].dtype == float


def test_timestamps_come_every_so_long_with_jitter_or_sorted_within_their_span(tmp_path: Path) -> None:
    frame = one_table(tmp_path, {
        "at": {"distribution": {"kind": "timestamps", "start": "2026-03-01T12:00:00Z", "every": "5min",
                                "jitter": "30s"}},
        "spread": {"distribution": {"kind": "timestamps", "start": "2026-03-01", "end": "2026-03-02"}},
    }, rows=2000)
    offset = (frame["at"] - pd.Timestamp("2026-03-01T12:00:00Z")).dt.total_seconds() * 1000
    jitter = offset - np.arange(2000) * 300_000
    assert (jitter >= 0).all() and (jitter < 30_000).all() and frame["at"].is_monotonic_increasing
    assert frame["spread"].is_monotonic_increasing
    assert frame["spread"].iloc[0] >= pd.Timestamp("2026-03-01", tz="UTC")
    assert frame["spread"].iloc[-1] < pd.Timestamp("2026-03-02", tz="UTC")


# -- writing -----------------------------------------------------------------------------------------------------

def test_generating_again_replaces_its_own_files_and_no_other(tmp_path: Path) -> None:
    generate(spec(SHOP), tmp_path, seed=1, scale=2)
    (tmp_path / "notes.txt").write_text("mine")
    before = {p.name for p in (tmp_path / "orders").iterdir()}
    shorter = {**SHOP, "orders": {**SHOP["orders"], "columns": {
        **SHOP["orders"]["columns"],
        "ordered_at": {"distribution": {"kind": "timestamps", "start": "2026-01-05T00:00:00Z",
                                        "end": "2026-01-07T00:00:00Z"}}}}}
    generate(spec(shorter), tmp_path, seed=1)
    assert len(before) == 4 and {p.name for p in (tmp_path / "orders").iterdir()} == {"date=2026-01-05",
                                                                                      "date=2026-01-06"}
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "notes.txt").unlink()
    recount(tmp_path)


def test_a_generation_that_fails_leaves_no_half_file_and_no_manifest(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    calls = []
    real = os.replace

    def failing(a: Any, b: Any) -> None:
        calls.append(b)
        if len(calls) == 4:  # the fourth file: a partition of orders
            raise OSError("disk full")
        real(a, b)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        generate(spec(SHOP), tmp_path, seed=1)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["customers.csv", "orders/date=2026-01-05/part-00000.avro", "products.jsonl"]


def test_progress_is_told_the_rows_written_after_each_file(tmp_path: Path) -> None:
    said: list[tuple[int, int | None, str]] = []
    manifest = generate(spec(SHOP), tmp_path, seed=1, progress=lambda *a: said.append(a))
    assert len(said) == sum(len(t.files) for t in manifest.tables.values())
    assert said[-1] == (manifest.rows, manifest.rows, "records")
    assert [s[0] for s in said] == sorted(s[0] for s in said)


def test_a_spec_file_and_its_model_give_the_same_data_set(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(yaml.safe_dump({"tables": SHOP}, sort_keys=False))
    from_file = generate(tmp_path / "data.yaml", tmp_path / "a", seed=2)
    generate(spec(SHOP), tmp_path / "b", seed=2)
    a, b = files_bytes(tmp_path / "a"), files_bytes(tmp_path / "b")
    assert {k: v for k, v in a.items() if k != "manifest.json"} == {k: v for k, v in b.items() if k != "manifest.json"}
    assert json.loads(a["manifest.json"])["spec"] == "data.yaml" and from_file.seed == 2


def test_bad_scale_or_seed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale must be more than 0"):
        generate(spec(SHOP), tmp_path, scale=0)
    with pytest.raises(ValueError, match="seed must be 0 or more"):
        generate(spec(SHOP), tmp_path, seed=-1)


# -- properties over random small specs ----------------------------------------------------------------------------

@st.composite
def small_specs(draw: st.DrawFn) -> dict[str, Any]:
    fmt = draw(st.sampled_from(["avro", "json", "csv", "parquet"]))
    child_fmt = draw(st.sampled_from(["avro", "json", "csv", "parquet"]))
    rate = st.sampled_from([0.0, 0.05, 0.1, 0.3])
    keyed = draw(st.booleans())
    timed = {"kind": "timestamps", "start": "2026-02-01T00:00:00Z"}
    timed |= ({"every": draw(st.sampled_from(["7min", "1h", "5h"])), "jitter": "3min"} if draw(st.booleans())
              else {"end": draw(st.sampled_from(["2026-02-02T00:00:00Z", "2026-02-05T00:00:00Z"]))})
    columns: dict[str, Any] = {
        "at": {"distribution": timed},
        "parent": {"distribution": {"kind": "reference", "to": "p.pid", "orphans": draw(rate)}},
        "x": {"type": draw(st.sampled_from(["int", "float"])),
              "distribution": {"kind": "uniform", "low": 0, "high": draw(st.integers(1, 50))}},
        "tag": {"distribution": {"kind": "categorical", "values": ["a", "b", "c"]}},
    }
    defects: dict[str, Any] = {"nulls": {"x": draw(rate), "tag": draw(rate)}, "out_of_range": {"x": draw(rate)},
                               "malformed": {"tag": draw(rate)}, "out_of_order": draw(rate)}
    if draw(st.booleans()):
        defects["late"] = {"rate": draw(rate), "delay": ["2h", "10h"]}
    if keyed:
        columns["id"] = {"distribution": {"kind": "pattern", "pattern": "K{seq}-[a-z]{2}"}}
        defects["duplicates"] = draw(rate)
    layout = draw(st.sampled_from(["single", "daily"]))
    if layout == "daily" and draw(st.booleans()):
        defects["schema_drift"] = [{"column": "x", "rename": "x2", "share": draw(st.sampled_from([0.2, 1]))}]
    if draw(st.booleans()):
        defects["nulls"]["parent"] = draw(rate)
    series = {
        "format": draw(st.sampled_from(["avro", "json", "csv", "parquet"])), "layout": layout,
        "series": {"per": "p.pid", "count": draw(st.integers(1, 6)), "every": "3h", "jitter": "1h",
                   "start": "2026-02-01T00:00:00Z", "time": "ts"},
        "columns": {"v": {"distribution": {"kind": "normal", "mean": 0, "std": 1}, "range": [-1, 1]}},
        "defects": {"out_of_range": {"v": draw(rate)}, "out_of_order": draw(rate),
                    "late": {"rate": draw(rate), "delay": ["3h", "9h"]}},
    }
    return {
        "p": {"rows": draw(st.integers(1, 30)), "format": fmt, "key": "pid", "columns": {
            "pid": {"distribution": {"kind": "sequence", "start": draw(st.integers(-5, 5)),
                                     "step": draw(st.sampled_from([1, 3, -2]))}}}},
        "c": {"rows": draw(st.integers(1, 150)), "format": child_fmt, "time": "at", "key": "id" if keyed else None,
              "layout": layout, "columns": columns, "defects": defects},
        **({"s": series} if draw(st.booleans()) else {}),
    }


@settings(max_examples=40, deadline=None)
@given(tables=small_specs(), seed=st.integers(0, 2**32))
def test_on_random_specs_the_manifest_is_what_the_files_hold_and_the_bytes_repeat(
    tables: dict[str, Any], seed: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    generate(spec(tables), first, seed=seed)
    generate(spec(tables), second, seed=seed)
    assert files_bytes(first) == files_bytes(second)
    recount(first)


KILLED = """
import os, signal, sys
import pyarrow.parquet as pq
from kernel_datagen import generate, parse_spec
real = pq.write_table
def half_then_killed(table, where, **kw):
    if "2026-01-06" not in os.path.dirname(os.path.realpath(where)):
        return real(table, where, **kw)
    real(table.slice(0, table.num_rows // 2), where, **kw)  # half a file on disk, under its temporary name
    os.kill(os.getpid(), signal.SIGKILL)
pq.write_table = half_then_killed
generate(parse_spec({"tables": {"t": {"rows": 500, "format": "parquet", "layout": "daily", "time": "at",
                                      "columns": {"at": {"distribution": {"kind": "timestamps",
                                                  "start": "2026-01-05", "every": "10min"}}}}}}), sys.argv[1])
"""


def test_a_killed_generation_leaves_no_half_file_under_a_final_name(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr
    final = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()
                   and not p.name.startswith("."))
    assert final == ["t/date=2026-01-05/part-00000.parquet"]  # complete; no manifest: the data set is not
    assert len(pd.read_parquet(tmp_path / final[0])) == 144
    assert [p.name.startswith(".part-00000.parquet.") for p in (tmp_path / "t/date=2026-01-06").iterdir()] == [True]


def test_an_arrival_column_says_when_each_row_landed_and_the_window_finds_the_late_ones(tmp_path: Path) -> None:
    from kernel_window.steps import tumbling

    readings = {
        "format": "parquet", "key": "reading_id", "time": "read_at", "arrival": "landed_at", "rows": 3000,
        "columns": {"reading_id": {"distribution": {"kind": "sequence"}},
                    "read_at": {"distribution": {"kind": "timestamps", "start": "2026-01-05T00:00:00Z",
                                                 "every": "10s"}},
                    "value": {"distribution": {"kind": "uniform", "low": 0, "high": 10}}},
        "defects": {"late": {"rate": 0.02, "delay": ["30min", "1h"]}}}
    manifest = generate(spec({"readings": readings}), tmp_path, seed=4)
    frame = pd.read_parquet(tmp_path / "readings.parquet")
    landed, read = frame["landed_at"], frame["read_at"]
    late = set(manifest.tables["readings"].defects["late"].keys or ())
    is_late = frame["reading_id"].isin(late)
    assert len(late) == 60 and (landed >= read).all() and (landed[~is_late] == read[~is_late]).all()
    assert ((landed - read)[is_late] >= pd.Timedelta("30min")).all()
    assert landed.is_monotonic_increasing  # the files are in arrival order
    # Batches by arrival: a row that lands half an hour after its minute closed is late, and only those.
    out = tumbling({"records": frame}, time_column="read_at", arrival_column="landed_at", size="1min",
                   watermark="2min", trigger="1min", aggregations={"n": "count"})
    assert set(out["late"]["reading_id"]) == late
    with pytest.raises(Exception, match=r"field 'tables.readings.arrival': 'value' is already a column"):
        generate(spec({"readings": {**readings, "arrival": "value"}}), tmp_path / "again")


def test_a_reference_rate_too_small_for_the_scale_makes_no_orphan(tmp_path: Path) -> None:
    # 10 rows at 1% orphans: none is drawn; patterned keys of nothing are nothing (numpy's text functions
    # fail on empty arrays).
    generate(spec({
        "a": {"rows": 5, "fixed": True, "format": "csv", "key": "id",
              "columns": {"id": {"distribution": {"kind": "pattern", "pattern": "A-{seq:03d}"}}}},
        "b": {"rows": 10, "format": "csv",
              "columns": {"ref": {"distribution": {"kind": "reference", "to": "a.id", "orphans": 0.01}}}},
    }), tmp_path, seed=1)
    assert set(pd.read_csv(tmp_path / "b.csv")["ref"]) <= {f"A-{i:03d}" for i in range(1, 6)}
