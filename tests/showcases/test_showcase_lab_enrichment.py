"""The lab-enrichment showcase's abnormal rates against a few lines of plain pandas over the raw Avro files (the
messages it sets aside are held to the generator's manifest by its expect.yaml, tests/test_showcases.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro
import pandas as pd
from showcase_support import run_showcase


def _avro(*paths: Path) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with path.open("rb") as stream:
            rows.extend(fastavro.reader(stream))
    return pd.DataFrame(rows)


def test_abnormal_rates_equal_plain_pandas_over_the_raw_files() -> None:
    run = run_showcase("lab-enrichment")
    data = run.data
    results = _avro(*sorted(data.glob("results/*/part-*.avro"))).drop_duplicates("result_id")
    results = results[results["flag"].isin(["N", "H", "L", "HH", "LL"]) & results["value"].between(0, 500)]
    patients, tests, sites = (_avro(data / f"{name}.avro") for name in ("patients", "tests", "sites"))
    qc = set(patients.loc[patients["record_type"] == "QC", "patient_id"])
    counted = results[results["test_code"].isin(tests["test_code"]) & results["site_id"].isin(sites["site_id"])
                      & ~results["patient_id"].isin(qc)]
    expected = counted.groupby(["test_code", "site_id"]).agg(
        results=("flag", "size"), abnormal=("flag", lambda f: (f != "N").sum()),
        critical=("flag", lambda f: f.isin(["HH", "LL"]).sum()),
        unregistered=("patient_id", lambda p: (~p.isin(patients["patient_id"])).sum()))

    rates = run.published("abnormal_rates").set_index(["test_code", "site_id"]).sort_index()
    assert rates.index.tolist() == expected.index.tolist()
    assert rates["results"].tolist() == expected["results"].tolist()
    assert rates["abnormal"].tolist() == expected["abnormal"].tolist()
    assert rates["critical"].tolist() == expected["critical"].tolist()
    assert rates["unregistered_patients"].tolist() == expected["unregistered"].tolist()
    assert ((rates["abnormal_rate"] - expected["abnormal"] / expected["results"]).abs() <= 0.00005 + 1e-12).all()
    panel = tests.set_index("test_code")["panel"]
    assert (rates["panel"] == rates.index.get_level_values("test_code").map(panel)).all()


def test_every_message_kept_by_the_lookups_is_counted_or_set_aside_with_a_reason() -> None:
    run = run_showcase("lab-enrichment")
    set_aside = run.published("set_aside")
    assert set(set_aside["reason"]) <= {"duplicate of (result_id)", "unknown test", "unknown site",
                                        "unknown test and site"}
    assert (run.published("unregistered")["record_type"] == "unregistered").all()
    assert len(run.rows("enriched")) == len(run.rows("unique_results.out"))
