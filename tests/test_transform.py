"""The transform step library against plain pandas computations written here: rows, joins, shapes, SQL.

Step functions are called directly (inputs and settings), as the kernel calls them; one test runs them in a
pipeline. Expressions are DuckDB SQL; these tests also hold that they can read nothing but the step's inputs.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_transform import joins, rows, shape
from kernel_transform.plugin import STEPS

from kernel import DataError, Kernel, StepSettingsError

SALES = pd.DataFrame({
    "id": [1, 2, 3, 3, 4, 5],
    "region": ["n", "s", "n", "n", None, "e"],
    "amount": [10.0, None, 30.0, 31.0, 5.0, 7.5],
    "day": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02", "2026-01-03", "2026-01-03", "2026-01-05"],
                          utc=True),
})
REGIONS = pd.DataFrame({"region": ["n", "s", "w"], "name": ["North", "South", "West"], "target": [40, 10, 5]})


def out(result: Any, name: str = "out") -> pd.DataFrame:
    frame = result[name]
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0  # every output numbered 0..n-1
    return frame


# --- select, filter, derive, sort, dedupe, union, sample -------------------------------------------------------


def test_select_keeps_drops_renames_and_casts_in_that_order() -> None:
    got = out(rows.select({"s": SALES}, columns=["id", "amount", "region"], drop=["region"],
                          rename={"amount": "value"}, cast={"id": "string", "value": "float64"}))
    assert list(got.columns) == ["id", "value"]
    assert got["id"].tolist() == ["1", "2", "3", "3", "4", "5"]
    pd.testing.assert_series_equal(got["value"], SALES["amount"].rename("value"))


def test_select_cast_failure_names_the_column_and_the_value() -> None:
    frame = pd.DataFrame({"n": ["1", "2", "x3"]})
    with pytest.raises(DataError, match=r"cannot cast column 'n' to int64 \(row 2: 'x3'\)") as caught:
        rows.select({"f": frame}, cast={"n": "int64"})
    assert caught.value.field == "settings.cast.n"


def test_select_unknown_column_suggests_the_closest() -> None:
    with pytest.raises(DataError, match="has no column 'amout': did you mean 'amount'"):
        rows.select({"s": SALES}, columns=["amout"])
    with pytest.raises(StepSettingsError, match="onto 'region', a column that stays"):
        rows.select({"s": SALES}, rename={"id": "region"})


def test_filter_matches_a_pandas_mask_and_null_is_not_true() -> None:
    result = rows.filter({"s": SALES}, where="amount > 6 AND region <> 'e'")
    expected = SALES[(SALES["amount"] > 6) & SALES["region"].notna() & (SALES["region"] != "e")]
    pd.testing.assert_frame_equal(out(result), expected.reset_index(drop=True))
    rest = out(result, "rest")
    assert len(rest) + len(out(result)) == len(SALES)  # every row goes one way
    assert set(rest["id"]) == {2, 4, 5}  # null amount, null region, 'e'


def test_filter_keeps_dtypes_of_the_columns_it_passes_along() -> None:
    frame = SALES.assign(flag=pd.array([True, None, False, True, True, False], dtype="boolean"),
                         code=pd.Categorical(["a", "b", "a", "c", "a", "b"]))
    got = out(rows.filter({"s": frame}, where="flag"))
    assert dict(got.dtypes) == dict(frame.dtypes)
    assert got["id"].tolist() == [1, 3, 4]


def test_filter_on_timestamps_and_an_empty_input() -> None:
    got = out(rows.filter({"s": SALES}, where="day >= TIMESTAMPTZ '2026-01-03 00:00:00+00'"))
    assert got["id"].tolist() == [3, 4, 5]
    empty = out(rows.filter({"s": SALES.iloc[0:0]}, where="amount > 1"))
    assert empty.empty and list(empty.columns) == list(SALES.columns)


def test_a_condition_that_is_not_true_or_false_is_refused() -> None:
    with pytest.raises(StepSettingsError, match="gives double, not true or false") as caught:
        rows.filter({"s": SALES}, where="amount * 2")
    assert caught.value.field == "settings.where"


@pytest.mark.parametrize("where", ["amount > 1; DROP TABLE input", "1) OR (1", "__import__('os')"])
def test_a_condition_is_one_sql_expression_never_a_statement_or_python(where: str) -> None:
    with pytest.raises(StepSettingsError, match=r"is not one SQL expression|Error") as caught:
        rows.filter({"s": SALES}, where=where)
    assert caught.value.field == "settings.where"


@pytest.mark.parametrize("expression", [
    "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
    "(SELECT count(*) FROM 'tests/conftest.py') > 0",
    "(SELECT count(*) FROM read_text('/etc/hostname')) > 0",
])
def test_expressions_cannot_read_files(expression: str) -> None:
    with pytest.raises((StepSettingsError, DataError), match=r"(?i)permission|disabled|not exist|catalog"):
        rows.filter({"s": SALES}, where=expression)


def test_derive_computes_in_order_and_replaces_a_column() -> None:
    got = out(rows.derive({"s": SALES}, columns={"double": "amount * 2", "quad": "double * 2",
                                                 "region": "upper(region)"}))
    pd.testing.assert_series_equal(got["double"], (SALES["amount"] * 2).rename("double"))
    pd.testing.assert_series_equal(got["quad"], (SALES["amount"] * 4).rename("quad"))
    assert got["region"].tolist()[:2] == ["N", "S"] and pd.isna(got["region"][4])
    assert list(got.columns) == [*SALES.columns, "double", "quad"]


def test_derive_errors_name_the_column_setting() -> None:
    with pytest.raises(StepSettingsError, match=r"'amout \* 2': Binder Error.*amout") as caught:
        rows.derive({"s": SALES}, columns={"ok": "amount + 1", "bad": "amout * 2"})
    assert caught.value.field == "settings.columns.bad"
    with pytest.raises(DataError, match="Conversion Error") as failed:
        rows.derive({"s": SALES}, columns={"n": "CAST(region AS INTEGER)"})
    assert failed.value.field == "settings.columns.n"


def test_derive_timestamps_come_back_in_utc() -> None:
    got = out(rows.derive({"s": SALES}, columns={"next": "day + INTERVAL 1 DAY", "d": "CAST(day AS DATE)"}))
    assert str(got["next"].dtype.tz) == "UTC"
    pd.testing.assert_series_equal(got["next"], (SALES["day"] + pd.Timedelta("1D")).rename("next"),
                                   check_dtype=False)
    assert got["d"].astype("str").tolist()[:3] == ["2026-01-01", "2026-01-01", "2026-01-02"]


def test_sort_is_stable_with_nulls_last_like_pandas() -> None:
    got = out(rows.sort({"s": SALES}, by=["region", "amount"], descending=[False, True]))
    expected = SALES.sort_values(["region", "amount"], ascending=[True, False], kind="stable", na_position="last")
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True))


def _naive_dedupe(frame: pd.DataFrame, keys: list[str], order: list[str], keep: str) -> list[int]:
    """Positions kept: scan the rows in order (by ``order``, ties in input order), remember keys seen."""
    positions = list(range(len(frame)))
    if order:
        def rank(p: int) -> tuple[Any, ...]:
            return tuple((pd.isna(frame[c].iloc[p]), frame[c].iloc[p] if pd.notna(frame[c].iloc[p]) else 0)
                         for c in order)
        positions.sort(key=rank)
    if keep == "last":
        positions.reverse()
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for p in positions:
        key = tuple("<null>" if pd.isna(v) else v for v in frame.iloc[p][keys])
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return sorted(kept)


@pytest.mark.parametrize(("keys", "order", "keep"), [(["id"], [], "first"), (["id"], ["amount"], "last"),
                                                     (["region"], ["amount"], "first")])
def test_dedupe_matches_a_row_by_row_scan(keys: list[str], order: list[str], keep: str) -> None:
    result = rows.dedupe({"s": SALES}, keys=keys, order_by=order, keep=keep)
    assert out(result).equals(SALES.iloc[_naive_dedupe(SALES, keys, order, keep)].reset_index(drop=True))
    dropped = out(result, "duplicates")
    assert len(dropped) + len(out(result)) == len(SALES)
    assert set(dropped["reason"]) <= {f"duplicate of ({', '.join(keys)})"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 3), st.integers(-5, 5)), max_size=30),
       st.sampled_from(["first", "last"]))
def test_dedupe_is_idempotent_and_agrees_with_the_scan(data: list[tuple[Any, int, int]], keep: str) -> None:
    frame = pd.DataFrame(data, columns=["k", "j", "v"]).astype({"k": "object"})
    once = out(rows.dedupe({"f": frame}, keys=["k", "j"], order_by=["v"], keep=keep))
    twice = out(rows.dedupe({"f": once}, keys=["k", "j"], order_by=["v"], keep=keep))
    pd.testing.assert_frame_equal(once, twice)
    assert once.equals(frame.iloc[_naive_dedupe(frame, ["k", "j"], ["v"], keep)].reset_index(drop=True))


def test_union_in_needs_order_with_missing_columns_refused_or_null() -> None:
    a, b = SALES[["id", "amount"]], SALES[["id", "region"]]
    with pytest.raises(DataError, match="input 'a' has no column 'region'"):
        rows.union({"a": a, "b": b})
    got = out(rows.union({"a": a, "b": b}, missing="null", source_column="src"))
    assert list(got.columns) == ["id", "amount", "region", "src"]
    assert got["src"].tolist() == ["a"] * 6 + ["b"] * 6
    assert got["id"].tolist() == SALES["id"].tolist() * 2
    assert got["amount"].iloc[6:].isna().all() and got["region"].iloc[:6].isna().all()


def test_sample_is_seeded_and_in_input_order() -> None:
    frame = pd.DataFrame({"n": range(1000)})
    one = out(rows.sample({"f": frame}, rows=100, seed=7))
    assert one.equals(out(rows.sample({"f": frame}, rows=100, seed=7)))
    assert not one.equals(out(rows.sample({"f": frame}, rows=100, seed=8)))
    assert one["n"].is_monotonic_increasing and one["n"].is_unique and len(one) == 100
    assert len(out(rows.sample({"f": frame}, fraction=0.25))) == 250
    assert len(out(rows.sample({"f": frame.iloc[:0]}, rows=5))) == 0


# --- join and lookup --------------------------------------------------------------------------------------------


def _naive_join(left: pd.DataFrame, right: pd.DataFrame, key: str, how: str) -> list[tuple[int, int]]:
    """(left position, right position) pairs by nested loops; -1 where a side has no partner; SQL nulls."""
    found = []
    right_used: set[int] = set()
    for i, lv in enumerate(left[key]):
        partners = [j for j, rv in enumerate(right[key]) if pd.notna(lv) and pd.notna(rv) and lv == rv]
        right_used.update(partners)
        if how == "semi":
            found += [(i, -1)] if partners else []
        elif how == "anti":
            found += [] if partners else [(i, -1)]
        else:
            found += [(i, j) for j in partners]
            if not partners and how in ("left", "outer"):
                found.append((i, -1))
    if how == "right":
        found = sorted(found, key=lambda p: p[1])
        found += [(-1, j) for j in range(len(right)) if j not in right_used]
        found.sort(key=lambda p: p[1])
    if how == "outer":
        found += [(-1, j) for j in range(len(right)) if j not in right_used]
    return found


def _assert_join_matches(left: pd.DataFrame, right: pd.DataFrame, how: str) -> None:
    got = out(joins.join({"left": left, "right": right}, keys=["k"], how=how))
    expected = _naive_join(left, right, "k", how)
    assert len(got) == len(expected)
    for row, (i, j) in zip(got.itertuples(index=False), expected, strict=True):
        key = left["k"].iloc[i] if i >= 0 else right["k"].iloc[j]
        assert (pd.isna(row.k) and pd.isna(key)) or row.k == key
        assert row.lv == left["lv"].iloc[i] if i >= 0 else pd.isna(row.lv)
        if how not in ("semi", "anti"):
            assert (j < 0 and pd.isna(row.rv)) or row.rv == right["rv"].iloc[j]


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer", "semi", "anti"])
def test_join_matches_nested_loops_with_null_keys_matching_nothing(how: str) -> None:
    left = pd.DataFrame({"k": [1.0, 2.0, None, 2.0, 5.0], "lv": ["a", "b", "c", "d", "e"]})
    right = pd.DataFrame({"k": [2.0, None, 1.0, 2.0, 9.0], "rv": [10, 20, 30, 40, 50]})
    _assert_join_matches(left, right, how)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 4)), max_size=12),
       st.lists(st.one_of(st.none(), st.integers(0, 4)), max_size=12),
       st.sampled_from(["inner", "left", "right", "outer", "semi", "anti"]))
def test_join_row_count_and_pairs_agree_with_nested_loops(lk: list[int | None], rk: list[int | None],
                                                         how: str) -> None:
    left = pd.DataFrame({"k": pd.array(lk, dtype="Int64"), "lv": [f"l{i}" for i in range(len(lk))]})
    right = pd.DataFrame({"k": pd.array(rk, dtype="Int64"), "rv": [f"r{i}" for i in range(len(rk))]})
    _assert_join_matches(left, right, how)


def test_join_keeps_dtypes_and_suffixes_a_shared_name() -> None:
    left = SALES.assign(name=["x"] * 6)
    got = out(joins.join({"left": left, "right": REGIONS}, keys=["region"], how="inner"))
    assert list(got.columns) == [*left.columns, "name_right", "target"]
    assert got["day"].dtype == SALES["day"].dtype and got["target"].dtype == np.int64
    expected = left.merge(REGIONS.dropna(), on="region", suffixes=("", "_right"))
    columns = ["id", "region", "name_right"]
    assert got[columns].values.tolist() == expected[columns].values.tolist()


def test_join_with_different_key_names_keeps_both() -> None:
    right = REGIONS.rename(columns={"region": "code"})
    got = out(joins.join({"left": SALES, "right": right}, left_keys=["region"], right_keys=["code"], how="left"))
    assert got["code"].tolist()[:3] == ["n", "s", "n"] and pd.isna(got["code"][4])


def test_a_broken_relationship_is_refused_naming_a_key() -> None:
    with pytest.raises(DataError, match=r"left: 2 rows refused, such as key \(region='n'\): \(region\) repeated on "
                       r"the left, which one_to_one forbids \(on_violation: quarantine keeps the run going\)"):
        joins.join({"left": SALES[SALES["id"] != 1], "right": REGIONS}, keys=["region"], relationship="one_to_one")


def test_violations_are_quarantined_with_their_reason() -> None:
    right = pd.concat([REGIONS, REGIONS.iloc[[1]].assign(name="Sud")], ignore_index=True)  # 's' twice
    result = joins.join({"left": SALES, "right": right}, keys=["region"], how="left", relationship="many_to_one",
                        require_match="left", on_violation="quarantine")
    qr = out(result, "quarantine_right")
    assert qr["name"].tolist() == ["South", "Sud"]
    assert set(qr["reason"]) == {"(region) repeated on the right, which many_to_one forbids"}
    ql = out(result, "quarantine_left")
    # 's' lost its dimension row to quarantine, None matches nothing, 'e' has no region: all unmatched
    assert ql["id"].tolist() == [2, 4, 5]
    assert ql["reason"].tolist() == ["(region) not found on the right", "(region) is null, which matches nothing",
                                     "(region) not found on the right"]
    joined = out(result)
    assert joined["id"].tolist() == [1, 3, 3] and joined["name"].tolist() == ["North"] * 3
    assert len(joined) + len(ql) == len(SALES)  # nothing lost


def test_require_match_refuses_by_default() -> None:
    refused = r"left: 1 rows refused, such as key \(region=null\): \(region\) is null, which matches nothing"
    with pytest.raises(DataError, match=refused) as caught:
        joins.join({"left": SALES, "right": REGIONS}, keys=["region"], require_match="left")
    assert caught.value.field == "settings.require_match"


def test_join_settings_are_checked() -> None:
    with pytest.raises(StepSettingsError, match="needs an input named 'right'"):
        joins.join({"left": SALES, "other": REGIONS}, keys=["region"])
    with pytest.raises(DataError, match="right has no column 'regio'"):
        joins.join({"left": SALES, "right": REGIONS}, left_keys=["region"], right_keys=["regio"])
    with pytest.raises(ValueError, match="give keys, or both left_keys and right_keys"):
        joins.join({"left": SALES, "right": REGIONS}, left_keys=["region"])


def test_lookup_keeps_every_record_and_fills_defaults_only_where_unmatched() -> None:
    dimension = REGIONS.assign(target=pd.array([40, None, 5], dtype="Int64"))  # South's target is null itself
    got = out(joins.lookup({"records": SALES, "dimension": dimension}, keys=["region"], columns=["name", "target"],
                           default={"name": "unknown", "target": 0}, matched_column="found"))
    assert got["id"].tolist() == SALES["id"].tolist()
    assert got["name"].tolist() == ["North", "South", "North", "North", "unknown", "unknown"]
    assert got["target"].tolist()[:2] == [40, pd.NA] and got["target"].tolist()[4:] == [0, 0]
    assert got["found"].tolist() == [True, True, True, True, False, False]


def test_lookup_refuses_a_dimension_with_repeated_keys() -> None:
    dimension = pd.concat([REGIONS, REGIONS.iloc[[0]]])
    with pytest.raises(DataError, match=r"dimension: 2 rows share a key, such as \(region='n'\)"):
        joins.lookup({"records": SALES, "dimension": dimension}, keys=["region"])


# --- aggregate, window functions, pivot, unpivot, sql -----------------------------------------------------------


def test_aggregate_matches_pandas_groupby() -> None:
    got = out(shape.aggregate({"s": SALES}, by=["region"], aggregations={
        "n": "count(*)", "total": "sum(amount)", "ids": "count(DISTINCT id)", "p50": "quantile_cont(amount, 0.5)",
        "latest": "arg_max(amount, day)"}))
    groups = SALES.groupby("region", dropna=False, sort=True)
    assert got["region"].tolist()[:3] == ["e", "n", "s"] and pd.isna(got["region"].iloc[3])  # nulls last
    assert got["n"].tolist() == groups.size().tolist()
    assert got["total"].iloc[[0, 1, 3]].tolist() == [7.5, 71.0, 5.0] and pd.isna(got["total"].iloc[2])  # SQL sum
    assert got["ids"].tolist() == groups["id"].nunique().tolist()
    assert got["p50"].iloc[1] == SALES.loc[SALES["region"] == "n", "amount"].median()
    assert got["latest"].iloc[1] == 31.0  # the amount of the newest day in 'n'
    assert got["region"].dtype == SALES["region"].dtype


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "y", "z"]), st.integers(0, 2), st.integers(-100, 100)),
                max_size=40))
def test_aggregate_sums_and_counts_agree_with_pandas(data: list[tuple[str, int, int]]) -> None:
    frame = pd.DataFrame(data, columns=["a", "b", "v"]).astype({"b": "int64", "v": "int64"})
    got = out(shape.aggregate({"f": frame}, by=["a", "b"], aggregations={"s": "sum(v)", "n": "count(*)",
                                                                         "hi": "max(v)"}))
    expected = frame.groupby(["a", "b"], sort=True).agg(s=("v", "sum"), n=("v", "size"), hi=("v", "max"))
    expected = expected.reset_index()
    assert got[["a", "b"]].values.tolist() == expected[["a", "b"]].values.tolist()
    assert got["s"].tolist() == expected["s"].tolist() and got["n"].tolist() == expected["n"].tolist()
    assert got["hi"].tolist() == expected["hi"].tolist()
    if len(frame):
        assert got["b"].dtype == np.int64


def test_aggregate_without_groups_and_with_having() -> None:
    total = out(shape.aggregate({"s": SALES}, aggregations={"n": "count(*)", "sum": "sum(amount)"}))
    assert total.to_dict("records") == [{"n": 6, "sum": SALES["amount"].sum()}]
    big = out(shape.aggregate({"s": SALES}, by=["region"], aggregations={"n": "count(*)"}, having="n > 1"))
    assert big["region"].tolist() == ["n"]
    empty = out(shape.aggregate({"s": SALES.iloc[:0]}, by=["region"], aggregations={"n": "count(*)"}))
    assert empty.empty and list(empty.columns) == ["region", "n"]


def test_aggregate_errors_name_the_aggregation() -> None:
    with pytest.raises(StepSettingsError, match="amout") as caught:
        shape.aggregate({"s": SALES}, by=["region"], aggregations={"n": "count(*)", "t": "sum(amout)"})
    assert caught.value.field == "settings.aggregations.t"


def test_window_functions_match_pandas_groupby_transforms() -> None:
    got = out(shape.window_functions({"s": SALES}, partition_by=["region"], order_by=["day"], columns={
        "rn": "row_number()", "rk": "rank()", "prev": "lag(amount)", "running": {"expression": "sum(amount)",
                                                                                   "running": True},
        "last2": {"expression": "avg(amount)", "rows": 2}, "week": {"expression": "count(*)", "range": "2d"}}))
    assert list(got.columns[:4]) == list(SALES.columns) and got["id"].tolist() == SALES["id"].tolist()
    groups = SALES.groupby("region", dropna=False, sort=False)
    assert got["rn"].tolist() == (groups.cumcount() + 1).tolist()
    assert got["prev"].fillna(-1).tolist() == [-1, -1, 10.0, 30.0, -1, -1]
    pd.testing.assert_series_equal(got["running"], groups["amount"].cumsum().rename("running"), check_dtype=False)
    expected_rolling = groups["amount"].transform(lambda s: s.rolling(2, min_periods=1).mean())
    pd.testing.assert_series_equal(got["last2"], expected_rolling.rename("last2"), check_dtype=False)
    assert got["rk"].tolist() == [1, 1, 2, 3, 1, 1]
    assert got["week"].tolist() == [1, 1, 2, 3, 1, 1]  # n: Jan 1, 2, 3 within two days back


def test_rank_keeps_ties_as_peers_and_row_number_breaks_them_by_input_order() -> None:
    frame = pd.DataFrame({"g": ["a"] * 4, "score": [5, 7, 5, 9]})
    got = out(shape.window_functions({"f": frame}, partition_by=["g"], order_by=["score"], descending=True,
                                     columns={"rk": "rank()", "rn": "row_number()"}))
    assert got["rk"].tolist() == [3, 2, 3, 1]
    assert got["rn"].tolist() == [3, 2, 4, 1]


def test_an_aggregate_without_rows_range_or_running_sees_the_whole_partition() -> None:
    # SQL's default frame with ORDER BY is "so far"; here that takes running: true, and first/last mean the
    # partition's first and last in order.
    got = out(shape.window_functions({"s": SALES}, partition_by=["region"], order_by=["day"], columns={
        "total": "sum(amount)", "n": "count(*)", "latest": "last_value(amount)", "so_far": {
            "expression": "sum(amount)", "running": True}}))
    groups = SALES.groupby("region", dropna=False, sort=False)
    pd.testing.assert_series_equal(got["total"], groups["amount"].transform("sum", min_count=1).rename("total"),
                                   check_dtype=False)  # SQL: the sum of nulls only is null
    assert got["n"].tolist() == groups["id"].transform("size").tolist()
    assert got["latest"].fillna(-1).tolist() == [31.0, -1, 31.0, 31.0, 5.0, 7.5]
    assert got["so_far"].fillna(-1).tolist()[:4] == [10.0, -1, 40.0, 71.0]


def test_a_window_call_with_over_or_two_calls_in_one_column_is_refused_by_name() -> None:
    with pytest.raises(StepSettingsError, match=r"'count\(\*\) OVER \(\)': write the call without OVER") as caught:
        shape.window_functions({"s": SALES}, columns={"n": "count(*) OVER ()"})
    assert caught.value.field == "settings.columns.n"
    with pytest.raises(StepSettingsError, match="is not one window function call: write one call per column") as c2:
        shape.window_functions({"s": SALES}, partition_by=["region"], columns={"r": "sum(amount) / sum(id)"})
    assert c2.value.field == "settings.columns.r"
    with pytest.raises(StepSettingsError, match="is not one window function call"):
        shape.window_functions({"s": SALES}, partition_by=["region"], columns={"r": "round(amount / sum(amount), 2)"})


def test_window_function_errors() -> None:
    with pytest.raises(StepSettingsError, match="needs order_by"):
        shape.window_functions({"s": SALES}, columns={"r": {"expression": "sum(amount)", "rows": 3}})
    with pytest.raises(DataError, match="already has a column 'amount'"):
        shape.window_functions({"s": SALES}, order_by=["day"], columns={"amount": "row_number()"})
    with pytest.raises(DataError, match="to be a timestamp"):
        shape.window_functions({"s": SALES}, order_by=["id"], columns={"r": {"expression": "sum(amount)",
                                                                           "range": "1d"}})


def test_pivot_and_unpivot_round_trip() -> None:
    long = pd.DataFrame({"store": [1, 1, 2, 2, 3], "month": ["jan", "feb", "jan", "feb", "jan"],
                         "sales": [10.0, 20.0, 30.0, None, 50.0]})
    wide = out(shape.pivot({"l": long}, index=["store"], columns="month", values="sales"))
    assert list(wide.columns) == ["store", "feb", "jan"]
    expected = long.pivot(index="store", columns="month", values="sales").reset_index()
    assert wide.fillna(-1).values.tolist() == expected.fillna(-1).values.tolist()
    back = out(shape.unpivot({"w": wide}, index=["store"], variable="month", value="sales", drop_nulls=True))
    merged = back.merge(long.dropna(), on=["store", "month"], suffixes=("", "_long"))
    assert len(back) == len(long.dropna()) == len(merged) and (merged["sales"] == merged["sales_long"]).all()
    assert back["store"].tolist() == [1, 1, 2, 3]  # rows stay together, in input order


def test_pivot_refuses_repeats_unless_told_how_to_combine() -> None:
    long = pd.DataFrame({"k": [1, 1, 1], "c": ["a", "a", "b"], "v": [1.0, 2.0, None]})
    with pytest.raises(DataError, match="2 rows share an index and column"):
        shape.pivot({"l": long}, index=["k"], columns="c", values="v")
    summed = out(shape.pivot({"l": long}, index=["k"], columns="c", values="v", aggregate="sum", prefix="v_"))
    assert summed["v_a"].tolist() == [3.0] and pd.isna(summed["v_b"][0])  # all-null cell stays null


def test_sql_over_named_inputs_matches_pandas() -> None:
    got = out(shape.sql({"sales": SALES, "regions": REGIONS}, query=(
        "SELECT r.name, sum(s.amount) AS total FROM sales s JOIN regions r USING (region) "
        "GROUP BY r.name ORDER BY r.name")))
    expected = SALES.merge(REGIONS, on="region").groupby("name")["amount"].sum(min_count=1)
    assert got["name"].tolist() == expected.index.tolist()
    assert got["total"].fillna(-1).tolist() == expected.fillna(-1).tolist()


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT 1; SELECT 2", "give one SELECT query"),
    ("CREATE TABLE t AS SELECT 1", r"give one SELECT query \(got CREATE\)"),
    ("SELECT * FROM read_csv('/etc/passwd')", "(?i)permission"),
    ("ATTACH '/tmp/x.db'", "give one SELECT query"),
])
def test_sql_is_one_select_that_reads_only_its_inputs(query: str, message: str) -> None:
    with pytest.raises((StepSettingsError, DataError), match=message):
        shape.sql({"sales": SALES}, query=query)


# --- the step types in a pipeline -------------------------------------------------------------------------------


def test_every_step_type_has_a_settings_model_and_a_description() -> None:
    for step_type in STEPS:
        model = step_type.settings_model  # imported from its reference
        assert model is not None and step_type.description.endswith(".")
        # the description given beside the reference is the model's docstring's first sentence
        assert step_type.description == " ".join((model.__doc__ or "").split(". ")[0].split()).rstrip(".") + "."
        assert step_type.loaded().function is not None  # every reference imports


def test_a_pipeline_of_transforms_runs_and_names_its_outputs(tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text(SALES.drop(columns=["day"]).to_csv(index=False))
    (tmp_path / "regions.csv").write_text(REGIONS.to_csv(index=False))
    (tmp_path / "p.yaml").write_text(f"""
name: sales-by-region
steps:
  - {{name: sales, uses: io.read, settings: {{path: {tmp_path / 'sales.csv'}}}}}
  - {{name: regions, uses: io.read, settings: {{path: {tmp_path / 'regions.csv'}}}}}
  - {{name: unique, uses: transform.dedupe, needs: [sales], settings: {{keys: [id], order_by: [amount], keep: last}}}}
  - name: joined
    uses: transform.join
    needs: {{left: unique, right: regions}}
    settings: {{keys: [region], how: left, relationship: many_to_one, require_match: left, on_violation: quarantine}}
  - name: totals
    uses: transform.aggregate
    needs: [joined]
    settings: {{by: [name], aggregations: {{orders: "count(*)", revenue: "sum(amount)"}}}}
""")
    result = Kernel().run(tmp_path / "p.yaml", runs_root=tmp_path / "runs", keep_outputs=True)
    assert result.ok, result.record.error
    totals = result.outputs["totals"]["out"]
    assert totals["name"].tolist() == ["North", "South"] and totals["orders"].tolist() == [2, 1]
    assert totals["revenue"].iloc[0] == 41.0 and pd.isna(totals["revenue"].iloc[1])  # South's only amount is null
    assert result.outputs["joined"]["quarantine_left"]["id"].tolist() == [4, 5]
    assert result.outputs["unique"]["duplicates"]["id"].tolist() == [3]


def test_a_misspelt_setting_is_refused_when_the_pipeline_is_planned(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("""
name: bad
steps:
  - {name: a, uses: transform.sql, settings: {query: "SELECT 1 AS x"}}
  - {name: b, uses: transform.filter, needs: [a], settings: {wher: "x > 0"}}
""")
    kernel = Kernel()
    with pytest.raises(StepSettingsError, match=r"step 'b'.*wher.*did you mean 'where'"):
        kernel.plan(kernel.load(tmp_path / "p.yaml"))


def test_all_pairs_of_join_kinds_and_relationships_validate() -> None:
    for how, relationship in itertools.product(["inner", "left", "right", "outer", "anti", "semi"],
                                               ["one_to_one", "one_to_many", "many_to_one", "many_to_many"]):
        result = joins.join({"left": SALES.drop_duplicates("region"), "right": REGIONS}, keys=["region"], how=how,
                            relationship=relationship)
        assert len(out(result, "quarantine_left")) == 0


@pytest.mark.parametrize(("function", "settings", "columns"), [
    (rows.select, {"columns": ["id", "amount"], "cast": {"amount": "float64"}}, ["id", "amount"]),
    (rows.derive, {"columns": {"double": "amount * 2"}}, [*SALES.columns, "double"]),
    (rows.sort, {"by": ["amount"]}, list(SALES.columns)),
    (rows.dedupe, {"keys": ["id"]}, list(SALES.columns)),
    (rows.sample, {"fraction": 0.5}, list(SALES.columns)),
    (shape.window_functions, {"order_by": ["day"], "columns": {"rn": "row_number()"}}, [*SALES.columns, "rn"]),
    (shape.pivot, {"index": ["id"], "columns": "region", "values": "amount"}, ["id"]),
    (shape.unpivot, {"index": ["id"], "values": ["amount"]}, ["id", "variable", "value"]),
])
def test_an_empty_input_gives_an_empty_output_with_its_columns(function: Any, settings: dict[str, Any],
                                                               columns: list[str]) -> None:
    got = out(function({"s": SALES.iloc[:0]}, **settings))
    assert got.empty and list(got.columns) == columns


def test_sums_of_integers_are_integers_and_decimals_floats() -> None:
    frame = pd.DataFrame({"g": ["a", "a", "b"], "n": [1, 2, 3], "x": [1.5, 2.5, None]})
    got = out(shape.aggregate({"f": frame}, by=["g"], aggregations={
        "total": "sum(n)", "exact": "sum(CAST(x AS DECIMAL(10, 2)))", "huge": "sum(n) * 10000000000000000000"}))
    assert got["total"].dtype == np.int64 and got["total"].tolist() == [3, 3]  # DuckDB's sum is a 128-bit integer
    assert got["exact"].dtype == np.float64 and got["exact"].iloc[0] == 4.0
    assert got["huge"].dtype == np.float64 and got["huge"].iloc[0] == 3e19  # beyond an int64
