"""Every data-declared showcase runs at a tiny scale, and what its expect.yaml says must hold does: the rows
it sets aside are exactly those the generator made bad, and its row counts add up."""

from __future__ import annotations

from pathlib import Path

import pytest
from kernel_datagen import evaluate, read_expectations
from kernel_datagen.expect import Expectations, SetAside
from showcase_support import data_showcases, run_showcase


@pytest.mark.parametrize("name", list(data_showcases()))
def test_the_showcase_runs_and_its_expectations_hold(name: str) -> None:
    run = run_showcase(name)
    assert run.result.ok, run.result.record.error
    expectations = read_expectations(data_showcases()[name] / "expect.yaml")
    assert expectations.set_aside or expectations.conserved, "an expect.yaml that expects nothing"
    outcomes = evaluate(expectations, run.manifest, run.rows)
    failed = [f"{o.id}: {o.message}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
    assert any(o.id.startswith("manifest ") for o in outcomes) or expectations.set_aside


def test_an_expectation_that_does_not_hold_says_what_was_found(tmp_path: Path) -> None:
    run = run_showcase("retail-orders")
    # The duplicates are not the orphans: both ways of being wrong are named, with an example key.
    wrong = Expectations(set_aside=[SetAside(rows="unique_orders.duplicates", key="order_id",
                                             expect=["orders.orphans.sku"])])
    (outcome,) = evaluate(wrong, run.manifest, run.rows)
    assert not outcome.passed
    assert "the manifest names are not there (such as 'ORD-" in outcome.message
    assert "are not the manifest's (such as 'ORD-" in outcome.message
    bad = tmp_path / "expect.yaml"
    bad.write_text("set_aside: [{rows: a.b, key: id, expect: []}]\n")
    with pytest.raises(Exception, match=r"expect.yaml: field 'set_aside.0.expect'"):
        read_expectations(bad)


def test_the_suite_page_is_made_from_the_showcases_files() -> None:
    from kernel_datagen.matrix import ARCHETYPES, DOMAINS, SHAPES, entries, render

    found = entries()
    page = Path(__file__).resolve().parents[1] / "docs" / "showcases" / "README.md"
    assert page.read_text() == render(found), "run: python -m kernel_datagen.matrix > docs/showcases/README.md"
    for entry in found:
        assert entry.domain.lower() in DOMAINS, f"{entry.directory}: domain '{entry.domain}'"
        assert entry.archetype.lower() in [a.lower() for a in ARCHETYPES], f"{entry.directory}: '{entry.archetype}'"
        assert entry.shape in SHAPES, f"{entry.directory}: shape '{entry.shape}'"


def test_a_conserved_term_may_be_a_column_sum() -> None:
    from kernel_datagen.expect import Conserved

    run = run_showcase("retail-orders")
    units = int(run.rows("lines")["quantity"].sum())
    good = Expectations(conserved=[Conserved(rows=["lines:quantity"], equals=["daily:units"]),
                                   Conserved(rows=["lines"], equals=["daily:orders"])])
    outcomes = evaluate(good, run.manifest, run.rows)
    assert [o.passed for o in outcomes] == [True, True]
    assert outcomes[0].message.startswith(f"{units:,} = {units:,}")
    wrong = Expectations(conserved=[Conserved(rows=["lines:quantity"], equals=["daily:orders"])])
    (outcome,) = evaluate(wrong, run.manifest, run.rows)
    assert not outcome.passed and f"{units:,} != " in outcome.message
    with pytest.raises(Exception, match="'daily' has no column 'unit'"):
        evaluate(Expectations(conserved=[Conserved(rows=["lines"], equals=["daily:unit"])]), run.manifest, run.rows)
