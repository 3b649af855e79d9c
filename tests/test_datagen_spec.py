"""A data.yaml that cannot be used is refused before anything is written, in one line naming the file and the
field, with what was meant when a name is misspelt."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kernel_datagen import SpecError, generate, read_spec

GOOD: dict[str, Any] = {"tables": {
    "customers": {"rows": 10, "format": "csv", "key": "customer_id", "columns": {
        "customer_id": {"distribution": {"kind": "sequence"}},
        "segment": {"distribution": {"kind": "categorical", "values": ["retail", "vip"]}}}},
    "orders": {"rows": 100, "format": "avro", "layout": "daily", "key": "order_id", "time": "at", "columns": {
        "order_id": {"distribution": {"kind": "pattern", "pattern": "ORD-{seq:05d}"}},
        "at": {"distribution": {"kind": "timestamps", "start": "2026-01-05T00:00:00Z", "every": "1h"}},
        "customer_id": {"distribution": {"kind": "reference", "to": "customers.customer_id"}},
        "amount": {"distribution": {"kind": "lognormal", "mean": 3, "sigma": 0.5}, "range": [0, 1000]},
        "code": {"distribution": {"kind": "pattern", "pattern": "[A-Z]{3}"}}}},
}}


def changed(path: str, value: Any) -> dict[str, Any]:
    """GOOD with the field at dotted ``path`` set to ``value`` (``None``: removed)."""
    spec = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = spec
    for part in parents:
        node = node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return spec


ORDERS = "tables.orders"
AMOUNT = f"{ORDERS}.columns.amount"
CASES = [
    (changed(f"{AMOUNT}.distribution.kind", "lognormall"),
     f"field '{AMOUNT}.distribution.kind': unknown kind 'lognormall'; did you mean 'lognormal'?"),
    (changed(f"{AMOUNT}.distribution.sigmaa", 1),
     f"field '{AMOUNT}.distribution.sigmaa': unknown field; did you mean 'sigma'?"),
    (changed(f"{AMOUNT}.distribution.sigma", -1),
     f"field '{AMOUNT}.distribution.sigma': Input should be greater than or equal to 0"),
    (changed(f"{AMOUNT}.distribution.kind", None),
     f"field '{AMOUNT}.distribution.kind': required field is missing (kinds: uniform, normal, lognormal, "
     "categorical, sequence, timestamps, pattern, constant, reference)"),
    (changed(f"{AMOUNT}.decimal", 2), f"field '{AMOUNT}.decimal': unknown field; did you mean 'decimals'?"),
    (changed(f"{ORDERS}.layuot", "daily"), f"field '{ORDERS}.layuot': unknown field; did you mean 'layout'?"),
    ({"tabels": GOOD["tables"]}, "field 'tabels': unknown field; did you mean 'tables'?"),
    (changed(f"{ORDERS}.format", "xml"),
     f"field '{ORDERS}.format': Input should be 'avro', 'json', 'csv' or 'parquet'"),
    (changed(f"{ORDERS}.rows", None), f"field '{ORDERS}.rows': required field is missing (or give series)"),
    (changed(f"{ORDERS}.columns.customer_id.distribution.to", "custmers.customer_id"),
     f"field '{ORDERS}.columns.customer_id.distribution.to': no table 'custmers'; did you mean 'customers'?"),
    (changed(f"{ORDERS}.columns.customer_id.distribution.to", "customers.segment"),
     f"field '{ORDERS}.columns.customer_id.distribution.to': 'segment' is not the key of table 'customers' "
     "(its key: customer_id)"),
    (changed(f"{ORDERS}.columns.customer_id.distribution.orphans", 1.5),
     f"field '{ORDERS}.columns.customer_id.distribution.orphans': Input should be less than 1"),
    (changed(f"{ORDERS}.defects", {"nulls": {"amout": 0.1}}),
     f"field '{ORDERS}.defects.nulls.amout': no column 'amout'; did you mean 'amount'?"),
    (changed(f"{ORDERS}.defects", {"nulls": {"order_id": 0.1}}),
     f"field '{ORDERS}.defects.nulls.order_id': 'order_id' is the key, which defects leave alone"),
    (changed(f"{ORDERS}.defects", {"out_of_range": {"code": 0.1}}),
     f"field '{ORDERS}.defects.out_of_range.code': applies to int, float and timestamp columns (not references)"),
    (changed(f"{ORDERS}.defects", {"malformed": {"amount": 0.1}}),
     f"field '{ORDERS}.defects.malformed.amount': applies to text columns of a pattern or of categorical values"),
    (changed(f"{ORDERS}.defects", {"nulls": {"amount": 0.6}, "out_of_range": {"amount": 0.6}}),
     f"field '{ORDERS}.defects': the rates on column 'amount' add up to more than 1"),
    (changed(f"{ORDERS}.defects", {"late": {"rate": 0.1, "delay": ["2h", "1h"]}}),
     f"field '{ORDERS}.defects.late.delay': the first delay (the least) is longer than the second"),
    (changed(f"{ORDERS}.defects", {"late": {"rate": 0.1, "delay": ["2h", "soon"]}}),
     f"field '{ORDERS}.defects.late.delay.1': 'soon' is not a duration; write one such as 30s, 15min, 1h or 2d"),
    (changed("tables.customers.defects", {"duplicates": 0.1, "out_of_order": 0.1}),
     "field 'tables.customers.defects.out_of_order': needs the table's time: give time: COLUMN"),
    (changed("tables.customers.key", None),
     f"field '{ORDERS}.columns.customer_id.distribution.to': table 'customers' has no key: give it one "
     "(key: COLUMN) to refer to it"),
    (changed(f"{ORDERS}.key", "code"),
     f"field '{ORDERS}.key': 'code' is not unique by construction: a key is a sequence, or a pattern with {{seq}}"),
    (changed(f"{ORDERS}.time", None), f"field '{ORDERS}.layout': daily partitions need the table's time: give "
                                      "time: COLUMN"),
    (changed(f"{ORDERS}.time", "amount"), f"field '{ORDERS}.time': 'amount' is not in row order: the time column "
                                          "has a timestamps distribution, or is the series' time"),
    (changed(f"{ORDERS}.columns.at.distribution.jitter", "2h"),
     f"field '{ORDERS}.columns.at.distribution.jitter': applies with every, and is at most every (the times stay "
     "in order)"),
    (changed(f"{ORDERS}.columns.at.distribution.end", "2026-02-01"),
     f"field '{ORDERS}.columns.at.distribution': give either every (a time per row, every so long) or end (times "
     "up to end)"),
    (changed(f"{ORDERS}.columns.at.distribution.start", "Monday"),
     f"field '{ORDERS}.columns.at.distribution.start': 'Monday' is not a time; write ISO-8601 such as "
     "2026-01-05T00:00:00Z"),
    (changed(f"{ORDERS}.columns.code.distribution.pattern", "[A-Z{3}"),
     f"field '{ORDERS}.columns.code.distribution.pattern': '[' at character 1 is never closed"),
    (changed(f"{ORDERS}.columns.code.type", "int"),
     f"field '{ORDERS}.columns.code.type': a pattern distribution makes string values, not int"),
    (changed(f"{ORDERS}.columns.code.decimals", 2), f"field '{ORDERS}.columns.code.decimals': applies to float "
                                                    "columns"),
    (changed("tables.customers.columns.segment.distribution.values", ["retail", "NA"]),
     "field 'tables.customers.columns.segment.distribution.values.1': 'NA' is read from CSV as a missing value; "
     "choose another text"),
    (changed("tables.customers.columns.segment.distribution.weights", [1, 2, 3]),
     "field 'tables.customers.columns.segment.distribution.weights': has 3 weights for 2 values"),
    (changed(f"{ORDERS}.defects", {"schema_drift": [{"column": "amount", "share": 0.5}]}),
     f"field '{ORDERS}.defects.schema_drift.0': give either rename (a new name) or type (string or float)"),
    (changed("tables.customers.defects", {"schema_drift": [{"column": "segment", "rename": "seg", "share": 0.5}]}),
     "field 'tables.customers.defects.schema_drift.0': changes a share of a table's files: needs layout: daily"),
    (changed("tables.customers.columns.segment.distribution",
             {"kind": "reference", "to": "orders.order_id"}),
     "field 'tables.customers': the references go round in a circle: customers -> orders -> customers"),
    (changed("tables.customers.columns.segment.distribution", {"kind": "uniform", "low": 5, "high": 5}),
     "field 'tables.customers.columns.segment.distribution.high': must be greater than low"),
    (changed("tables.customers.columns.segment.distribution", {"kind": "uniform", "low": "x", "high": 5}),
     "field 'tables.customers.columns.segment.distribution.low': 'x' is not a number or a time"),
]


@pytest.mark.parametrize(("spec", "message"), CASES, ids=[m.split("'")[1] + ":" + m.split(": ", 1)[1][:30]
                                                          for _, m in CASES])
def test_a_spec_that_cannot_be_used_is_named_in_one_line(spec: dict[str, Any], message: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(SpecError) as caught:
        generate("data.yaml", "out")
    assert str(caught.value) == f"data.yaml: {message}"
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_good_spec_is_good(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(GOOD, sort_keys=False))
    assert set(read_spec(tmp_path / "data.yaml").tables) == {"customers", "orders"}


def test_a_file_that_is_not_a_spec_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data.yaml"
    with pytest.raises(SpecError, match=f"^{path}: no such file$"):
        read_spec(path)
    path.write_text("tables:\n  orders: [\n")
    with pytest.raises(SpecError, match=r"data.yaml: invalid YAML at line 3: "):
        read_spec(path)
    path.write_text("- 1\n")
    with pytest.raises(SpecError, match=r"data.yaml: must be a mapping with tables: \.\.\.$"):
        read_spec(path)


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(changed(f"{AMOUNT}.distribution.kind", "gauss"),
                                                       sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "kernel_datagen", "data.yaml", "--out", "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"error: data.yaml: field '{AMOUNT}.distribution.kind': unknown kind 'gauss'; kinds: "
                           "uniform, normal, lognormal, categorical, sequence, timestamps, pattern, constant, "
                           "reference\n")
    (tmp_path / "data.yaml").write_text(yaml.safe_dump(GOOD, sort_keys=False))
    done = subprocess.run([sys.executable, "-m", "kernel_datagen", "data.yaml", "--out", "out", "--scale", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("out: 220 rows in 2 tables")
