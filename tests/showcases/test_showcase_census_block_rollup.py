"""The census-block-rollup showcase's populations against a few lines of plain pandas over the raw Parquet file
(its set-aside returns are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from showcase_support import run_showcase

FRAME = r"4[4-6]00[1357]0[1-2]\d000[1-2]00[1-5]"     # the census frame's blocks
PREFIX = {"state": 2, "county": 5, "tract": 11, "block": 15}   # a GEOID's digits at each level
PARENT = {"state": 0, "county": 2, "tract": 5, "block": 11}     # and its parent's


def counted(data) -> pd.DataFrame:
    returns = pq.read_table(data / "returns.parquet").to_pandas().drop_duplicates("return_id")
    good = (returns["persons"].between(1, 20) & returns["block_geoid"].str.fullmatch(FRAME).fillna(False).astype(bool)
            & returns["response_mode"].isin(["internet", "mail", "phone", "enumerator"]))
    return returns[good]


def test_population_at_every_level_equals_plain_pandas() -> None:
    run = run_showcase("census-block-rollup")
    households = counted(run.data)
    hierarchy = run.published("hierarchy")
    total = households["persons"].sum()
    top = hierarchy[hierarchy["level"] == "all"].iloc[0]
    assert (top["population"], top["households"]) == (total, len(households))
    for level, digits in PREFIX.items():
        area = households["block_geoid"].str[:digits]
        expected = households.groupby(area).agg(households=("return_id", "size"), population=("persons", "sum"),
                                                enumerated=("response_mode", lambda m: int((m == "enumerator").sum())))
        parent = households.groupby(households["block_geoid"].str[:PARENT[level]])["persons"].sum()
        share = expected["population"] / expected.index.str[:PARENT[level]].map(parent).to_numpy()
        published = hierarchy[hierarchy["level"] == level].set_index("geoid").sort_index()
        assert published.index.tolist() == expected.index.tolist(), level
        assert published["households"].tolist() == expected["households"].tolist(), level
        assert published["population"].tolist() == expected["population"].tolist(), level
        assert published["enumerated"].tolist() == expected["enumerated"].tolist(), level
        assert (published["share_of_parent"] - share).abs().max() <= 0.00005 + 1e-12, level   # rounded to 4 places


def test_the_hierarchy_reads_from_the_top_down() -> None:
    hierarchy = run_showcase("census-block-rollup").published("hierarchy")
    assert hierarchy["level"].iloc[0] == "all"
    for level, digits in list(PREFIX.items())[1:]:
        rows = hierarchy[hierarchy["level"] == level]
        assert (rows["geoid"].str[:len(rows["parent"].iloc[0])] == rows["parent"]).all()
        assert (rows["geoid"].str.len() == digits).all()
