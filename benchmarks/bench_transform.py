"""``transform.join`` and ``transform.aggregate`` on 10 million rows beside the same operation in plain pandas
and in DuckDB (pandas frames in, a pandas frame out, through Arrow: DuckDB's fastest way back).

    python benchmarks/bench_transform.py                  # 10,000,000 fact rows, 5 repetitions
    python benchmarks/bench_transform.py --rows 1000000 --repeat 5

The facts: an integer key of 100,000 values, a float, a small integer and a text of three values; the dimension:
the 100,000 keys with a text name and a float. The join is a left join of facts to the dimension, declared
many-to-one (the step checks it); the aggregate groups by the key: sum and mean of the float, distinct count of
the small integer. Each figure is the median wall time; the three take turns within each repetition, each
going first in turn, after
one round that is not counted (the first allocations of 10 million rows cost more than the later ones, for all
three). The
step's result is compared with pandas' (same rows, same values) or the script fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from kernel_transform import joins, shape


def _data(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    keys = 100_000
    facts = pd.DataFrame({
        "k": rng.integers(0, keys, rows), "v": rng.random(rows), "q": rng.integers(0, 10, rows),
        "s": pd.array(rng.choice(["red", "green", "blue"], rows), dtype="str"),
    })
    dimension = pd.DataFrame({"k": np.arange(keys), "name": pd.array([f"item-{i}" for i in range(keys)], dtype="str"),
                              "w": rng.random(keys)})
    return facts, dimension


def _duckdb(sql: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    con = duckdb.connect()
    for name, frame in frames.items():
        con.register(name, frame)
    result: pd.DataFrame = con.sql(sql).to_arrow_table().to_pandas()
    con.close()
    return result


def _cases(facts: pd.DataFrame, dimension: pd.DataFrame, engine: str) -> dict[str, dict[str, Callable[[], Any]]]:
    if engine == "duckdb":
        return {
            "join": {"duckdb": lambda: _duckdb("SELECT f.*, d.name, d.w FROM f LEFT JOIN d USING (k)",
                                               {"f": facts, "d": dimension})},
            "aggregate": {"duckdb": lambda: _duckdb(
                "SELECT k, sum(v) AS total, avg(v) AS mean, count(DISTINCT q) AS kinds FROM f GROUP BY k ORDER BY k",
                {"f": facts})},
        }
    return {
        "join": {
            "transform.join": lambda: joins.join({"left": facts, "right": dimension}, keys=["k"], how="left",
                                                 relationship="many_to_one")["out"],
            "pandas merge": lambda: facts.merge(dimension, on="k", how="left"),
        },
        "aggregate": {
            "transform.aggregate": lambda: shape.aggregate({"f": facts}, by=["k"], aggregations={
                "total": "sum(v)", "mean": "avg(v)", "kinds": "count(DISTINCT q)"})["out"],
            "pandas groupby": lambda: facts.groupby("k", sort=True).agg(
                total=("v", "sum"), mean=("v", "mean"), kinds=("q", "nunique")).reset_index(),
        },
    }


def _measure(runs: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, float], dict[str, Any]]:
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    names = list(runs)
    for repetition in range(repeat + 1):  # the first round warms the allocator up
        # Each goes first in turn: what the one before freed changes what the next one's memory costs.
        turn = repetition % len(names)
        for name in names[turn:] + names[:turn]:
            results.pop(name, None)
            started = time.perf_counter()
            results[name] = runs[name]()
            if repetition:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", choices=["pandas", "duckdb"], default="pandas", help=argparse.SUPPRESS)
    args = parser.parse_args()
    facts, dimension = _data(args.rows)
    if args.engine == "duckdb":  # the child: DuckDB's medians as JSON
        print(json.dumps({case: _measure(runs, args.repeat)[0] for case, runs in
                          _cases(facts, dimension, "duckdb").items()}))
        return
    measured = {}
    for case, runs in _cases(facts, dimension, "pandas").items():
        medians, results = _measure(runs, args.repeat)
        ours, plain = (results[name] for name in runs)
        if case == "join":
            assert ours["k"].tolist()[:1000] == plain["k"].tolist()[:1000] and len(ours) == len(plain)
            assert np.allclose(ours["w"].to_numpy(), plain["w"].to_numpy(), equal_nan=True)
        else:
            assert ours["k"].tolist() == plain["k"].tolist()
            assert np.allclose(ours["total"], plain["total"]) and ours["kinds"].tolist() == plain["kinds"].tolist()
        measured[case] = medians
    del facts, dimension
    # DuckDB in a process of its own, after: in this one its allocator left the next large allocations of
    # the others slower (the join's 0.47 s became 1.1 s).
    child = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--repeat", str(args.repeat),
                            "--engine", "duckdb"], capture_output=True, text=True, check=True)
    duck = json.loads(child.stdout)
    print(f"{args.rows:,} fact rows, 100,000 dimension rows; medians of {args.repeat}")
    for case, medians in measured.items():
        medians["duckdb"] = duck[case]["duckdb"]
        names = list(medians)
        print(f"{case}:")
        for name, value in medians.items():
            print(f"  {name:22} {value:7.3f} s")
        faster = min(medians[names[1]], medians[names[2]])
        print(f"  {names[0]} / the faster of the others: {medians[names[0]] / faster:.2f}x")


if __name__ == "__main__":
    main()
