"""``scd2_merge``, ``surrogate_keys`` and ``star`` against plain Python written here: a record-at-a-time loop
over a history, a numbering of sorted natural keys, a dictionary lookup per fact row.

Step functions are called directly (inputs and settings), as the kernel calls them; the settings models are
checked through the kernel's planning, which names the field; two pipelines run them through the kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_transform.history import scd2_merge, star, surrogate_keys

from kernel import DataError, Kernel, StepSettingsError

Row = dict[str, Any]
UTC = "UTC"


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC).as_unit("ns")


def records(frame: pd.DataFrame) -> list[Row]:
    """Rows as dicts, every null None and every number a plain one: what the naive versions compare with."""
    rows = frame.astype(object).to_dict("records")
    return [{k: None if _null(v) else (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in rows]


def _null(value: Any) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def out(result: Any, name: str = "out") -> pd.DataFrame:
    frame = result[name]
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0  # every output numbered 0..n-1
    return frame


def plan_error(tmp_path: Path, uses: str, step_settings: str, needs: str = "") -> StepSettingsError:
    """The error planning a one-step pipeline gives: settings models are checked there, naming the field."""
    (tmp_path / "p.yaml").write_text(f"""
name: bad
steps:
  - {{name: a, uses: transform.sql, settings: {{query: "SELECT 1 AS id"}}}}
  - {{name: b, uses: {uses}, needs: {needs or '[a]'}, settings: {step_settings}}}
""")
    kernel = Kernel()
    with pytest.raises(StepSettingsError) as caught:
        kernel.plan(kernel.load(tmp_path / "p.yaml"))
    return caught.value


# --- scd2_merge -------------------------------------------------------------------------------------------------


def naive_scd2(history: list[Row], snapshot: list[Row], keys: list[str], tracked: list[str], as_of: pd.Timestamp,
               deleted: str = "close") -> list[Row]:
    """One record at a time: the textbook type-2 merge."""
    out = [dict(row) for row in history]
    current = {tuple(r[k] for k in keys): r for r in out if r["valid_to"] is None}
    seen = set()
    for row in snapshot:
        key = tuple(row[k] for k in keys)
        seen.add(key)
        version = current.get(key)
        if version is not None and all(version.get(c) == row[c] for c in tracked):
            continue  # unchanged (None == None: a null that stays null is no change)
        if version is not None:
            version["valid_to"] = as_of
        out.append({**row, "valid_from": as_of, "valid_to": None})
    if deleted == "close":
        for key, version in current.items():
            if key not in seen:
                version["valid_to"] = as_of
    for row in out:
        row["is_current"] = row["valid_to"] is None
    return sorted(out, key=lambda r: (*(r[k] for k in keys), r["valid_from"]))


CUSTOMERS_1 = pd.DataFrame({"id": [2, 1, 3], "name": ["Bo", "Ada", None], "city": ["Oslo", "Rome", "Lima"]})
CUSTOMERS_2 = pd.DataFrame({"id": [1, 3, 4], "name": ["Ada", None, "Di"], "city": ["Rome", "Cusco", "Kyiv"]})


def merge(snapshot: pd.DataFrame, history: pd.DataFrame | None = None, **options: Any) -> pd.DataFrame:
    inputs = {"snapshot": snapshot} if history is None else {"snapshot": snapshot, "history": history}
    return out(scd2_merge(inputs, **{"keys": ["id"], **options}))


def test_scd2_first_run_opens_every_key_ordered_by_key() -> None:
    got = merge(CUSTOMERS_1, as_of="2026-03-01")
    assert list(got.columns) == ["id", "name", "city", "valid_from", "valid_to", "is_current"]
    assert got["id"].tolist() == [1, 2, 3]
    assert str(got["valid_from"].dtype) == "datetime64[ns, UTC]" and str(got["valid_to"].dtype) == "datetime64[ns, UTC]"
    assert got["is_current"].dtype == bool and got["is_current"].all() and got["valid_to"].isna().all()
    assert (got["valid_from"] == at("2026-03-01")).all()


@pytest.mark.parametrize("deleted", ["close", "keep"])
@pytest.mark.parametrize("tracked", [None, ["name"]])
def test_scd2_second_run_matches_the_record_loop(deleted: str, tracked: list[str] | None) -> None:
    first = merge(CUSTOMERS_1, as_of="2026-03-01", deleted=deleted, tracked=tracked)
    got = merge(CUSTOMERS_2, first, as_of="2026-03-02T00:00:00Z", deleted=deleted, tracked=tracked)
    expected = naive_scd2(records(first), records(CUSTOMERS_2), ["id"], tracked or ["name", "city"],
                          at("2026-03-02"), deleted)
    assert records(got) == expected
    if tracked is None:  # 3 moved: closed and reopened; 2 is gone; 4 is new; 1 stays; 3's null name is no change
        assert got[["id", "is_current"]].values.tolist() == (
            [[1, True], [2, deleted == "keep"], [3, False], [3, True], [4, True]])
    else:  # only a name change counts: 3's move to Cusco is not recorded
        assert got.loc[got["id"] == 3, "city"].tolist() == ["Lima"]


def test_scd2_a_key_that_comes_back_opens_a_new_version() -> None:
    history = merge(CUSTOMERS_1, as_of="2026-03-01")
    history = merge(CUSTOMERS_1[CUSTOMERS_1["id"] != 2], history, as_of="2026-03-02")
    got = merge(CUSTOMERS_1, history, as_of="2026-03-03")
    two = got[got["id"] == 2]
    assert two["valid_from"].tolist() == [at("2026-03-01"), at("2026-03-03")]
    assert two["valid_to"].tolist()[0] == at("2026-03-02") and pd.isna(two["valid_to"].tolist()[1])


def test_scd2_as_of_is_utc_and_a_zone_is_converted() -> None:
    got = merge(CUSTOMERS_1, as_of="2026-03-01T10:00:00+02:00")
    assert got["valid_from"].iloc[0] == at("2026-03-01T08:00:00")


def test_scd2_the_same_snapshot_again_changes_nothing() -> None:
    first = merge(CUSTOMERS_1, as_of="2026-03-01")
    second = merge(CUSTOMERS_2, first, as_of="2026-03-02")
    pd.testing.assert_frame_equal(merge(CUSTOMERS_2, second, as_of="2026-03-02"), second)
    pd.testing.assert_frame_equal(merge(CUSTOMERS_1, first, as_of="2026-03-01"), first)


def test_scd2_the_same_as_of_with_another_snapshot_is_refused() -> None:
    first = merge(CUSTOMERS_1, as_of="2026-03-01")
    with pytest.raises(DataError) as caught:
        merge(CUSTOMERS_2, first, as_of="2026-03-01")
    assert caught.value.field == "settings.as_of"
    assert caught.value.message == ("as_of 2026-03-01T00:00:00Z is already merged into the history, from a "
                                    "different snapshot (key (id=3) differs): give the new snapshot a later as_of")


def test_scd2_an_earlier_as_of_is_refused_even_after_a_merge_that_only_closed() -> None:
    first = merge(CUSTOMERS_1, as_of="2026-03-01")
    closed = merge(CUSTOMERS_1.iloc[:0], first, as_of="2026-03-05")  # every key gone: nothing opens on 5 March
    with pytest.raises(DataError) as caught:
        merge(CUSTOMERS_1, closed, as_of="2026-03-03")
    assert caught.value.field == "settings.as_of"
    assert caught.value.message == ("as_of 2026-03-03T00:00:00Z is before the history's latest change, "
                                    "2026-03-05T00:00:00Z: snapshots are merged in time order")


def test_scd2_refuses_duplicate_and_null_keys_naming_one() -> None:
    twice = pd.DataFrame({"id": [1, 2, 2], "name": ["a", "b", "c"]})
    with pytest.raises(DataError) as caught:
        merge(twice, as_of="2026-03-01")
    assert (caught.value.field, caught.value.message) == ("settings.keys", "the snapshot has 2 rows that share a "
                                                          "key, such as (id=2): a snapshot holds one row per key")
    null = pd.DataFrame({"id": [1, None], "region": ["n", "s"], "name": ["a", "b"]})
    with pytest.raises(DataError, match=r"1 rows with a null key, such as \(id=null, region='s'\)"):
        merge(null, as_of="2026-03-01", keys=["id", "region"])


def test_scd2_empty_snapshot_and_empty_history() -> None:
    got = merge(CUSTOMERS_1.iloc[:0], as_of="2026-03-01")
    assert got.empty and list(got.columns) == ["id", "name", "city", "valid_from", "valid_to", "is_current"]
    empty_history = merge(CUSTOMERS_1, as_of="2026-03-01").iloc[:0]
    pd.testing.assert_frame_equal(merge(CUSTOMERS_1, empty_history, as_of="2026-03-01"),
                                  merge(CUSTOMERS_1, as_of="2026-03-01"))
    closed = merge(CUSTOMERS_1.iloc[:0], merge(CUSTOMERS_1, as_of="2026-03-01"), as_of="2026-03-02")
    assert not closed["is_current"].any() and (closed["valid_to"] == at("2026-03-02")).all()
    kept = merge(CUSTOMERS_1.iloc[:0], merge(CUSTOMERS_1, as_of="2026-03-01"), as_of="2026-03-02", deleted="keep")
    assert kept["is_current"].all()


def test_scd2_schema_drift_keeps_old_columns_and_nulls_new_ones() -> None:
    history = merge(CUSTOMERS_1, as_of="2026-03-01")
    # city dropped, tier added: old versions keep their city and have no tier; new versions have no city.
    snapshot = pd.DataFrame({"id": [1, 2], "name": ["Ada", "Bo"], "tier": [None, "gold"]})
    got = merge(snapshot, history, as_of="2026-03-02")
    assert list(got.columns) == ["id", "name", "tier", "city", "valid_from", "valid_to", "is_current"]
    assert records(got[["id", "tier", "city", "is_current"]]) == [
        {"id": 1, "tier": None, "city": "Rome", "is_current": True},  # null tier = the null it had: unchanged
        {"id": 2, "tier": None, "city": "Oslo", "is_current": False},
        {"id": 2, "tier": "gold", "city": None, "is_current": True},
        {"id": 3, "tier": None, "city": "Lima", "is_current": False},
    ]


def test_scd2_reads_a_history_written_as_csv(tmp_path: Path) -> None:
    first = merge(CUSTOMERS_1, as_of="2026-03-01")
    first.to_csv(tmp_path / "h.csv", index=False)
    again = pd.read_csv(tmp_path / "h.csv")  # text timestamps, a column of blanks read as floats
    got = merge(CUSTOMERS_2, again, as_of="2026-03-02")
    pd.testing.assert_frame_equal(got, merge(CUSTOMERS_2, first, as_of="2026-03-02"))


def test_scd2_settings_and_inputs_mistakes_name_the_field() -> None:
    with pytest.raises(StepSettingsError) as caught:
        merge(CUSTOMERS_1, as_of="last tuesday")
    assert caught.value.field == "settings.as_of" and caught.value.message.startswith(
        "as_of 'last tuesday' is not a timestamp")
    with pytest.raises(DataError, match="the snapshot has no column 'nmae': did you mean 'name'") as missing:
        merge(CUSTOMERS_1, as_of="2026-03-01", tracked=["nmae"])
    assert missing.value.field == "settings.tracked"
    with pytest.raises(DataError, match="the snapshot already has a column 'city'") as clash:
        merge(CUSTOMERS_1, as_of="2026-03-01", valid_to="city")
    assert clash.value.field == "settings.valid_to"
    with pytest.raises(StepSettingsError, match="takes inputs 'snapshot' and 'history' \\(optional\\), not 'old'"):
        scd2_merge({"snapshot": CUSTOMERS_1, "old": CUSTOMERS_1}, keys=["id"], as_of="2026-03-01")
    with pytest.raises(DataError, match="the history has no column 'valid_from'") as no_stamp:
        merge(CUSTOMERS_2, CUSTOMERS_1, as_of="2026-03-01")
    assert no_stamp.value.field == "settings.valid_from"


def test_scd2_refuses_a_history_with_two_open_versions_of_a_key() -> None:
    history = merge(CUSTOMERS_1, as_of="2026-03-01")
    broken = pd.concat([history, history.iloc[:1]], ignore_index=True)
    with pytest.raises(DataError, match=r"two versions of key \(id=1\) valid at 2026-03-02T00:00:00Z") as caught:
        merge(CUSTOMERS_1, broken, as_of="2026-03-02")
    assert caught.value.field == "needs.history"


def test_scd2_refuses_keys_of_kinds_that_never_match() -> None:
    history = merge(CUSTOMERS_1, as_of="2026-03-01").astype({"id": "str"})
    with pytest.raises(DataError) as caught:
        merge(CUSTOMERS_2, history, as_of="2026-03-02")
    assert (caught.value.field, caught.value.message) == (
        "settings.keys", "the snapshot's key column 'id' holds numbers (int64), the history's 'id' text (str): "
        "they never match")


def test_scd2_settings_models_are_checked_when_planned(tmp_path: Path) -> None:
    error = plan_error(tmp_path, "transform.scd2_merge", "{keys: [id], as_of: 2026-03-01, deleted: drop}")
    assert error.field == "settings.deleted" and "'close' or 'keep'" in error.message
    error = plan_error(tmp_path, "transform.scd2_merge", "{keys: [id], as_of: 2026-03-01, valid_to: valid_from}")
    assert (error.field, error.message) == ("settings", "valid_from, valid_to and is_current names 'valid_from' twice")
    error = plan_error(tmp_path, "transform.scd2_merge", "{keys: [], as_of: '2026-03-01'}")
    assert error.field == "settings.keys"


SNAPSHOTS = st.lists(
    st.dictionaries(st.integers(0, 5), st.tuples(st.sampled_from([None, "a", "b"]), st.integers(0, 1)), max_size=6),
    min_size=1, max_size=5)


@settings(max_examples=50, deadline=None)
@given(SNAPSHOTS, st.lists(st.integers(1, 48), min_size=5, max_size=5), st.sampled_from(["close", "keep"]))
def test_scd2_properties_over_a_sequence_of_snapshots(snapshots: list[dict[int, tuple[str | None, int]]],
                                                     gaps: list[int], deleted: str) -> None:
    history: pd.DataFrame | None = None
    expected: list[Row] = []
    times = [at("2026-01-01") + pd.Timedelta(hours=sum(gaps[: i + 1])) for i in range(len(snapshots))]
    frames = []
    for rows, as_of in zip(snapshots, times, strict=True):
        frame = pd.DataFrame({"id": list(rows), "v": [r[0] for r in rows.values()], "w": [r[1] for r in rows.values()]},
                             columns=["id", "v", "w"]).astype({"id": "int64", "v": "object", "w": "int64"})
        frames.append(frame)
        history = merge(frame, history, as_of=str(as_of), deleted=deleted)
        expected = naive_scd2(expected, records(frame), ["id"], ["v", "w"], as_of, deleted)
        assert records(history) == expected
    assert history is not None
    for key, versions in history.groupby("id"):
        starts, ends = versions["valid_from"].tolist(), versions["valid_to"].tolist()
        assert all(pd.notna(e) and e <= s for e, s in zip(ends[:-1], starts[1:], strict=True)), key  # no overlap
        assert all(pd.notna(e) for e in ends[:-1]) and versions["is_current"].sum() <= 1
    current = set(history.loc[history["is_current"], "id"])
    if deleted == "close":
        assert current == set(snapshots[-1])  # exactly one current version per key of the last snapshot
    else:
        assert current >= set(snapshots[-1])
    for frame, as_of in zip(frames, times, strict=True):  # the version valid at each as_of is that snapshot's row
        valid = history[(history["valid_from"] <= as_of)
                        & (history["valid_to"].isna() | (history["valid_to"] > as_of))]
        got = valid[valid["id"].isin(frame["id"])] if deleted == "keep" else valid
        assert records(got[["id", "v", "w"]].sort_values("id").reset_index(drop=True)) == records(
            frame.sort_values("id").reset_index(drop=True))
    again = merge(frames[-1], history, as_of=str(times[-1]), deleted=deleted)
    pd.testing.assert_frame_equal(again, history)  # the same snapshot again: nothing changes


# --- surrogate_keys ---------------------------------------------------------------------------------------------


def naive_keys(naturals: list[Any], existing: dict[Any, int]) -> dict[Any, int]:
    """Known keys keep their number; new ones, in sorted order, follow the highest number ever given."""
    numbers = {n: existing[n] for n in naturals if n in existing}
    top = max(existing.values(), default=0)
    for natural in sorted(n for n in naturals if n not in existing):
        top += 1
        numbers[natural] = top
    return numbers


PRODUCTS = pd.DataFrame({"sku": ["C", "A", "B"], "label": ["cup", "axe", "bag"], "stock": [3, 1, 2]})


def keys(dimension: pd.DataFrame, existing: pd.DataFrame | None = None, **options: Any) -> pd.DataFrame:
    inputs = {"products": dimension} if existing is None else {"products": dimension, "existing": existing}
    return out(surrogate_keys(inputs, **{"keys": ["sku"], "name": "product_key", **options}))


def test_surrogate_keys_number_natural_keys_in_order_after_the_unknown_member() -> None:
    got = keys(PRODUCTS, unknown={"label": "unknown"})
    assert list(got.columns) == ["product_key", "sku", "label", "stock"]
    assert got["product_key"].dtype == np.int64
    assert records(got) == [
        {"product_key": 0, "sku": None, "label": "unknown", "stock": None},
        {"product_key": 1, "sku": "A", "label": "axe", "stock": 1},
        {"product_key": 2, "sku": "B", "label": "bag", "stock": 2},
        {"product_key": 3, "sku": "C", "label": "cup", "stock": 3},
    ]
    assert str(got["stock"].dtype) == "Int64"  # integers stay integers beside the unknown member's null


def test_surrogate_keys_are_stable_given_existing() -> None:
    first = keys(PRODUCTS)
    later = pd.DataFrame({"sku": ["D", "B", "A", "0"], "label": ["dye", "bag", "axe", "zero"], "stock": [4, 2, 1, 0]})
    got = keys(later, first)
    assert {r["sku"]: r["product_key"] for r in records(got)} == {
        None: 0, **naive_keys(["D", "B", "A", "0"], {"A": 1, "B": 2, "C": 3}), "C": 3}
    assert got["product_key"].tolist() == [0, 1, 2, 3, 4, 5]  # C's row is kept (vanished: keep)
    dropped = keys(later, first, vanished="drop")
    assert dropped["sku"].tolist()[1:] == ["A", "B", "0", "D"] and dropped["product_key"].tolist() == [0, 1, 2, 4, 5]
    pd.testing.assert_frame_equal(keys(PRODUCTS, first), first)  # the same dimension again: the same output


def test_surrogate_keys_an_empty_existing_is_a_first_run() -> None:
    header_only = pd.DataFrame({c: pd.Series([], dtype=object) for c in ["product_key", "sku", "label", "stock"]})
    pd.testing.assert_frame_equal(keys(PRODUCTS, header_only), keys(PRODUCTS))


def test_surrogate_keys_composite_natural_keys() -> None:
    frame = pd.DataFrame({"store": ["s", "n", "n"], "aisle": [2, 2, 1]})
    got = out(surrogate_keys({"d": frame}, keys=["store", "aisle"], name="k"))
    assert records(got) == [{"k": 0, "store": None, "aisle": None}, {"k": 1, "store": "n", "aisle": 1},
                            {"k": 2, "store": "n", "aisle": 2}, {"k": 3, "store": "s", "aisle": 2}]


def test_surrogate_keys_empty_dimension_is_the_unknown_member() -> None:
    got = keys(PRODUCTS.iloc[:0])
    assert got["product_key"].tolist() == [0] and list(got.columns) == ["product_key", "sku", "label", "stock"]


def test_surrogate_keys_refuse_duplicates_nulls_and_bad_existing() -> None:
    twice = pd.DataFrame({"sku": ["A", "A"], "label": ["x", "y"]})
    with pytest.raises(DataError) as caught:
        keys(twice)
    assert (caught.value.field, caught.value.message) == (
        "settings.keys", "the dimension 'products' has 2 rows that share a key, such as (sku='A'): "
        "a dimension holds one row per natural key")
    with pytest.raises(DataError, match="1 rows with a null key, such as \\(sku=null\\)"):
        keys(pd.DataFrame({"sku": ["A", None]}))
    first = keys(PRODUCTS)
    shared = first.assign(product_key=[0, 1, 1, 2])
    with pytest.raises(DataError, match="one surrogate key to two natural keys") as bad:
        keys(PRODUCTS, shared)
    assert bad.value.field == "needs.existing"
    with pytest.raises(DataError, match="existing's column 'product_key' is not integer surrogate keys"):
        keys(PRODUCTS, first.assign(product_key=["0", "1", "2", "3"]))


def test_surrogate_keys_settings_mistakes_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(StepSettingsError) as caught:
        keys(PRODUCTS, unknown={"stock": "none"})
    assert (caught.value.field, caught.value.message) == ("settings.unknown.stock",
                                                          "'none' does not fit column 'stock' (int64)")
    with pytest.raises(StepSettingsError, match="'sku' is a natural key column: the unknown member's is null"):
        keys(PRODUCTS, unknown={"sku": "?"})
    with pytest.raises(DataError, match="already has a column 'label'") as clash:
        keys(PRODUCTS, name="label")
    assert clash.value.field == "settings.name"
    with pytest.raises(StepSettingsError, match=r"one dimension input and, optionally, one named 'existing' "
                                                r"\(got a, b\)") as inputs:
        surrogate_keys({"a": PRODUCTS, "b": PRODUCTS}, keys=["sku"], name="k")
    assert inputs.value.field == "needs"
    error = plan_error(tmp_path, "transform.surrogate_keys", "{keys: [id], name: id}")
    assert (error.field, error.message) == ("settings", "name 'id' is also a natural key column")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sets(st.integers(0, 12), max_size=8), min_size=1, max_size=5), st.sampled_from(["keep", "drop"]))
def test_surrogate_keys_properties_across_runs(runs: list[set[int]], vanished: str) -> None:
    existing: pd.DataFrame | None = None
    given_keys: dict[int, int] = {}  # every number ever given, by natural key
    mapping: dict[int, int] = {}
    for naturals in runs:
        order = sorted(naturals, key=lambda n: (n * 7) % 13)  # input order does not matter
        frame = pd.DataFrame({"sku": pd.array(order, dtype="int64"), "label": [f"p{n}" for n in order]})
        got = keys(frame, existing, vanished=vanished)
        assert got["product_key"].iloc[0] == 0 and pd.isna(got["sku"].iloc[0])
        numbers = dict(zip(got["sku"].iloc[1:].astype(int), got["product_key"].iloc[1:], strict=True))
        assert len(set(got["product_key"])) == len(got)  # unique
        expected = naive_keys(sorted(naturals), mapping)
        assert {n: numbers[n] for n in naturals} == expected
        if vanished == "keep":  # stable across all runs, and a number is never given to another natural key
            for natural, number in numbers.items():
                assert given_keys.setdefault(natural, number) == number
            assert set(numbers) == set(given_keys) and len(set(given_keys.values())) == len(given_keys)
        mapping = numbers
        existing = got


# --- star -------------------------------------------------------------------------------------------------------


def naive_star(facts: list[Row], dimensions: dict[str, tuple[list[str], list[str], str, list[Row]]]
               ) -> tuple[list[Row], list[Row]]:
    """Per fact row, per dimension: the surrogate key of the row with the same natural key, else 0."""
    out, unmatched = [], []
    for fact in facts:
        row = dict(fact)
        for name, (fact_keys, dim_keys, key, rows) in dimensions.items():
            wanted = tuple(fact[c] for c in fact_keys)
            found = [r[key] for r in rows if None not in wanted and tuple(r[c] for c in dim_keys) == wanted]
            row[key] = found[0] if found else 0
            if not found:
                unmatched.append({**fact, "dimension": name,
                                  "reason": "null key" if None in wanted else "no match"})
            for c in fact_keys:
                row.pop(c, None)
        out.append(row)
    return out, unmatched


ORDERS = pd.DataFrame({"order": [1, 2, 3, 4, 5], "sku": ["A", "Z", None, "C", "A"],
                       "store": ["n", "n", "s", None, "w"], "amount": [1.5, 2.0, 3.0, None, 5.0]})
STORES = pd.DataFrame({"store_key": [0, 7, 9], "code": [None, "n", "s"], "town": [None, "Nyon", "Sion"]})


def test_star_matches_the_dictionary_lookup() -> None:
    products = keys(PRODUCTS)
    result = star({"facts": ORDERS, "products": products, "stores": STORES}, dimensions={
        "products": {"fact_keys": ["sku"], "key": "product_key"},
        "stores": {"fact_keys": ["store"], "keys": ["code"], "key": "store_key"}})
    expected, unmatched = naive_star(records(ORDERS), {
        "products": (["sku"], ["sku"], "product_key", records(products)),
        "stores": (["store"], ["code"], "store_key", records(STORES))})
    got = out(result)
    assert list(got.columns) == ["order", "product_key", "store_key", "amount"]
    assert got["product_key"].dtype == np.int64 and got["store_key"].dtype == np.int64
    assert records(got) == expected
    assert sorted(map(str, records(out(result, "unmatched")))) == sorted(map(str, unmatched))
    assert out(result, "unmatched")[["order", "dimension", "reason"]].values.tolist() == [
        [2, "products", "no match"], [3, "products", "null key"], [4, "stores", "null key"],
        [5, "stores", "no match"]]


def test_star_keep_natural_and_composite_keys() -> None:
    aisles = pd.DataFrame({"aisle_key": [0, 1, 2], "st": [None, "n", "n"], "no": [None, 1, 2]})
    facts = pd.DataFrame({"store": ["n", "n", "s"], "aisle": [2, 1, 1], "units": [5, 6, 7]})
    result = star({"facts": facts, "aisles": aisles}, dimensions={
        "aisles": {"fact_keys": ["store", "aisle"], "keys": ["st", "no"], "key": "aisle_key", "keep_natural": True}})
    assert records(out(result)) == [{"aisle_key": 2, "store": "n", "aisle": 2, "units": 5},
                                    {"aisle_key": 1, "store": "n", "aisle": 1, "units": 6},
                                    {"aisle_key": 0, "store": "s", "aisle": 1, "units": 7}]
    assert records(out(result, "unmatched")) == [
        {"store": "s", "aisle": 1, "units": 7, "dimension": "aisles", "reason": "no match"}]


def test_star_empty_facts_keep_their_columns() -> None:
    result = star({"facts": ORDERS.iloc[:0], "stores": STORES},
                  dimensions={"stores": {"fact_keys": ["store"], "keys": ["code"], "key": "store_key"}})
    assert out(result).empty and list(out(result).columns) == ["order", "sku", "store_key", "amount"]
    assert list(out(result, "unmatched").columns) == [*ORDERS.columns, "dimension", "reason"]


def test_star_refuses_a_dimension_not_unique_on_its_natural_key() -> None:
    twice = pd.concat([STORES, STORES.iloc[1:2].assign(store_key=8)], ignore_index=True)
    with pytest.raises(DataError) as caught:
        star({"facts": ORDERS, "stores": twice},
             dimensions={"stores": {"fact_keys": ["store"], "keys": ["code"], "key": "store_key"}})
    assert (caught.value.field, caught.value.message) == (
        "settings.dimensions.stores.keys", "the dimension 'stores' has 2 rows that share a natural key, such as "
        "(code='n'): a star needs one row per key")


def test_star_inputs_and_columns_mistakes_name_the_field(tmp_path: Path) -> None:
    dims = {"stores": {"fact_keys": ["store"], "keys": ["code"], "key": "store_key"}}
    with pytest.raises(StepSettingsError, match="needs an input named 'stores'") as missing:
        star({"facts": ORDERS}, dimensions=dims)
    assert missing.value.field == "needs"
    with pytest.raises(StepSettingsError, match=r"input 'shops' is not a dimension of settings.dimensions"):
        star({"facts": ORDERS, "stores": STORES, "shops": STORES}, dimensions=dims)
    with pytest.raises(DataError, match="the fact table has no column 'shop'") as column:
        star({"facts": ORDERS, "stores": STORES}, dimensions={"stores": {**dims["stores"], "fact_keys": ["shop"]}})
    assert column.value.field == "settings.dimensions.stores.fact_keys"
    with pytest.raises(DataError, match="the facts already have a column 'amount'") as clash:
        star({"facts": ORDERS, "stores": STORES.rename(columns={"store_key": "amount"})},
             dimensions={"stores": {**dims["stores"], "key": "amount"}})
    assert clash.value.field == "settings.dimensions.stores.key"
    with pytest.raises(DataError, match="the facts already have a column 'reason', which unmatched adds"):
        star({"facts": ORDERS.assign(reason="x"), "stores": STORES}, dimensions=dims)
    error = plan_error(tmp_path, "transform.star",
                       "{dimensions: {d: {fact_keys: [a, b], keys: [x], key: k}}}", needs="{facts: a, d: a}")
    assert (error.field, error.message) == ("settings.dimensions.d", "keys has 1 columns, fact_keys 2")
    error = plan_error(tmp_path, "transform.star", "{dimensions: {facts: {fact_keys: [a], key: k}}}")
    assert (error.field, error.message) == ("settings", "'facts' is the fact input's name, not a dimension's")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, 1, 2, 3, 4]), st.sampled_from([None, "x", "y"])), max_size=12),
       st.sets(st.integers(1, 4)), st.sets(st.sampled_from(["x", "y", "z"])))
def test_star_properties(fact_rows: list[tuple[int | None, str | None]], first: set[int], second: set[str]) -> None:
    facts = pd.DataFrame({"a": pd.array([r[0] for r in fact_rows], dtype="Int64"),
                          "b": pd.array([r[1] for r in fact_rows], dtype="object"),
                          "n": np.arange(len(fact_rows))})
    one = keys(pd.DataFrame({"sku": pd.array(sorted(first), dtype="int64")}))
    two = out(surrogate_keys({"d": pd.DataFrame({"code": sorted(second)}, dtype=object)}, keys=["code"], name="k2"))
    result = star({"facts": facts, "one": one, "two": two}, dimensions={
        "one": {"fact_keys": ["a"], "keys": ["sku"], "key": "product_key"},
        "two": {"fact_keys": ["b"], "keys": ["code"], "key": "k2"}})
    got = out(result)
    assert len(got) == len(facts) and got["n"].tolist() == list(range(len(facts)))  # count and order kept
    assert set(got["product_key"]) <= set(one["product_key"]) and set(got["k2"]) <= set(two["k2"])
    naive_unmatched = sum(a is None or a not in first for a, _ in fact_rows) + sum(
        b is None or b not in second for _, b in fact_rows)
    assert len(out(result, "unmatched")) == naive_unmatched
    expected, _ = naive_star(records(facts), {"one": (["a"], ["sku"], "product_key", records(one)),
                                               "two": (["b"], ["code"], "k2", records(two))})
    assert records(got) == expected


# --- through the kernel -----------------------------------------------------------------------------------------


def test_a_pipeline_merges_history_keys_a_dimension_and_builds_a_star(tmp_path: Path) -> None:
    (tmp_path / "day1.csv").write_text("customer_id,name,city\n10,Ada,Rome\n11,Bo,Oslo\n")
    (tmp_path / "day2.csv").write_text("customer_id,name,city\n10,Ada,Milan\n12,Cy,Lima\n")
    (tmp_path / "orders.csv").write_text("order_id,customer_id,amount\n1,10,5.0\n2,99,7.5\n3,,1.0\n4,12,2.0\n")
    history = tmp_path / "history.parquet"
    (tmp_path / "day1.yaml").write_text(f"""
name: day1
steps:
  - {{name: snapshot, uses: io.read, settings: {{path: {tmp_path / 'day1.csv'}}}}}
  - name: merged
    uses: transform.scd2_merge
    needs: [snapshot]
    settings: {{keys: [customer_id], as_of: 2026-03-01}}  # YAML reads a date: midnight, UTC
  - {{name: save, uses: io.write, needs: [merged], settings: {{path: {history}}}}}
""")
    assert Kernel().run(tmp_path / "day1.yaml", runs_root=tmp_path / "runs").ok
    (tmp_path / "day2.yaml").write_text(f"""
name: day2
steps:
  - {{name: snapshot, uses: io.read, settings: {{path: {tmp_path / 'day2.csv'}}}}}
  - {{name: before, uses: io.read, settings: {{path: {history}}}}}
  - {{name: orders, uses: io.read, settings: {{path: {tmp_path / 'orders.csv'}}}}}
  - name: merged
    uses: transform.scd2_merge
    needs: {{snapshot: snapshot, history: before}}
    settings: {{keys: [customer_id], as_of: "2026-03-02T06:00:00Z"}}
  - {{name: current, uses: transform.filter, needs: [merged], settings: {{where: is_current}}}}
  - {{name: slim, uses: transform.select, needs: [current], settings: {{columns: [customer_id, name, city]}}}}
  - name: customers
    uses: transform.surrogate_keys
    needs: [slim]
    settings: {{keys: [customer_id], name: customer_key, unknown: {{name: unknown}}}}
  - name: sales
    uses: transform.star
    needs: {{facts: orders, customers: customers}}
    settings: {{dimensions: {{customers: {{fact_keys: [customer_id], key: customer_key}}}}}}
""")
    result = Kernel().run(tmp_path / "day2.yaml", runs_root=tmp_path / "runs", keep_outputs=True)
    assert result.ok, result.record.error
    merged = result.outputs["merged"]["out"]
    assert merged[["customer_id", "city", "is_current"]].values.tolist() == [
        [10, "Rome", False], [10, "Milan", True], [11, "Oslo", False], [12, "Lima", True]]
    assert merged["valid_to"].iloc[0] == at("2026-03-02T06:00:00")
    customers = result.outputs["customers"]["out"]
    assert records(customers) == [{"customer_key": 0, "customer_id": None, "name": "unknown", "city": None},
                                  {"customer_key": 1, "customer_id": 10, "name": "Ada", "city": "Milan"},
                                  {"customer_key": 2, "customer_id": 12, "name": "Cy", "city": "Lima"}]
    sales = result.outputs["sales"]
    assert sales["out"][["order_id", "customer_key"]].values.tolist() == [[1, 1], [2, 0], [3, 0], [4, 2]]
    assert sales["unmatched"][["order_id", "reason"]].values.tolist() == [[2, "no match"], [3, "null key"]]
