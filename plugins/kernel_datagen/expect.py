"""``expect.yaml``: what must hold after a showcase's run, each judged against what the pipeline did not
compute itself: the generator's manifest (which rows it made bad) and row counts that must add up.

    set_aside:                       # rows set aside are exactly the rows the generator made bad
      - rows: unique_orders.duplicates           # a step's output (step.output), or the validator's
        key: order_id                            #   quarantine of one: quarantine/step.output
        expect: [orders.duplicates]              # manifest defects, TABLE.DEFECT: their keys, together
        minus: [quarantine/unique_orders.out]    # keys set aside before this step (optional)
    conserved:                       # row counts that add up
      - rows: [orders]
        equals: [lines, unique_orders.duplicates, quarantine/unique_orders.out]
      - manifest: orders                         # the rows the generator wrote into a table
        equals: [orders]

A KPI recomputed in plain pandas belongs to the test suite (tests/showcases/), which has the raw files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kernel import KernelError, validation_problem
from kernel_datagen.manifest import Manifest

QUARANTINE = "quarantine/"


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class SetAside(_Model):
    rows: str = Field(min_length=1, description="step.output, or quarantine/step.output")
    key: str = Field(min_length=1, description="the column naming a row, as the manifest does")
    expect: list[str] = Field(min_length=1, description="manifest defects, TABLE.DEFECT")
    minus: list[str] = Field(default_factory=list, description="rows whose keys were set aside before")


class Conserved(_Model):
    rows: list[str] | None = None
    manifest: str | None = Field(None, description="a table of the manifest: the rows written into it")
    equals: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.rows is None) == (self.manifest is None):
            raise ValueError("give rows or manifest")
        return self


class Expectations(_Model):
    set_aside: list[SetAside] = Field(default_factory=list)
    conserved: list[Conserved] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One expectation's verdict, with what was found when it does not hold."""

    id: str
    passed: bool
    message: str


def read_expectations(path: str | Path) -> Expectations:
    """The expectations in ``path``; a :class:`KernelError` naming the file and the field otherwise."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Expectations.model_validate(data)
    except OSError as exc:
        raise KernelError(f"cannot read: {exc}", file=path) from None
    except yaml.YAMLError as exc:
        raise KernelError(f"invalid YAML: {str(exc).splitlines()[0]}", file=path) from None
    except ValidationError as exc:
        where, message = validation_problem(exc)
        raise KernelError(message, file=path, field=where) from None


def evaluate(expectations: Expectations, manifest: Manifest, rows: Callable[[str], Any]) -> list[Outcome]:
    """Judge each expectation. ``rows(name)`` gives the frame of ``step.output`` or
    ``quarantine/step.output`` (an empty frame when the validator quarantined nothing there)."""
    outcomes = []
    for item in expectations.set_aside:
        outcomes.append(_set_aside(item, manifest, rows))
    for conserved in expectations.conserved:
        outcomes.append(_conserved(conserved, manifest, rows))
    return outcomes


def _defect_keys(manifest: Manifest, name: str) -> set[Any]:
    table, _, defect = name.partition(".")
    found = manifest.tables.get(table)
    if found is None:
        raise KernelError(f"expect.yaml: '{name}': the manifest has no table '{table}'")
    affected = found.defects.get(defect)
    if affected is None:
        return set()  # none made at this scale: nothing may be set aside for it
    if affected.keys is None:
        raise KernelError(f"expect.yaml: '{name}': table '{table}' has no key to match rows by")
    return set(affected.keys)


def _keys(frame: Any, key: str, name: str) -> set[Any]:
    if len(frame) == 0:
        return set()
    if key not in frame.columns:
        raise KernelError(f"expect.yaml: '{name}' has no column '{key}'")
    return {v.item() if hasattr(v, "item") else v for v in frame[key].dropna().unique()}


def _set_aside(item: SetAside, manifest: Manifest, rows: Callable[[str], Any]) -> Outcome:
    expected = set().union(*(_defect_keys(manifest, name) for name in item.expect))
    before = set().union(*(_keys(rows(name), item.key, name) for name in item.minus)) if item.minus else set()
    expected -= before
    found = _keys(rows(item.rows), item.key, item.rows)
    missing, extra = sorted(expected - found, key=str), sorted(found - expected, key=str)
    label = f"{item.rows} = {' + '.join(item.expect)}" + (f" - {' - '.join(item.minus)}" if item.minus else "")
    if not missing and not extra:
        return Outcome(label, True, f"{len(found):,} rows, exactly the manifest's")
    parts = []
    if missing:
        parts.append(f"{len(missing)} the manifest names are not there (such as {missing[0]!r})")
    if extra:
        parts.append(f"{len(extra)} are not the manifest's (such as {extra[0]!r})")
    return Outcome(label, False, "; ".join(parts))


def _measure(name: str, rows: Callable[[str], Any]) -> int | float:
    """Rows of ``name``, or with ``name:column`` the sum of that column (nulls count as nothing)."""
    source, sep, column = name.partition(":")
    frame = rows(source)
    if not sep:
        return len(frame)
    if len(frame) == 0:
        return 0
    if column not in frame.columns:
        raise KernelError(f"expect.yaml: '{source}' has no column '{column}'")
    total = frame[column].sum(skipna=True)
    value = total.item() if hasattr(total, "item") else total
    return int(value) if isinstance(value, int | bool) else float(value)


def _conserved(item: Conserved, manifest: Manifest, rows: Callable[[str], Any]) -> Outcome:
    if item.manifest is not None:
        table = manifest.tables.get(item.manifest)
        if table is None:
            raise KernelError(f"expect.yaml: the manifest has no table '{item.manifest}'")
        left: int | float = table.rows
        left_label = f"manifest {item.manifest}"
    else:
        assert item.rows is not None
        left, left_label = sum(_measure(name, rows) for name in item.rows), " + ".join(item.rows)
    right = {name: _measure(name, rows) for name in item.equals}
    label = f"{left_label} = {' + '.join(item.equals)}"
    total = sum(right.values())
    terms = ", ".join(f"{name} {count:,}" for name, count in right.items())
    exact = isinstance(left, int) and isinstance(total, int)
    if left == total if exact else abs(left - total) <= 1e-9 * max(1.0, abs(left), abs(total)):
        return Outcome(label, True, f"{left:,} = {total:,} ({terms})")
    return Outcome(label, False, f"{left:,} != {total:,} ({terms})")


def run_rows(outputs: Mapping[str, Mapping[str, Any]], run_dir: Path) -> Callable[[str], Any]:
    """``rows`` for :func:`evaluate` over a run kept in memory (``keep_outputs=True``) and its run directory."""
    import pandas as pd

    def rows(name: str) -> Any:
        if name.startswith(QUARANTINE):
            path = run_dir / "quarantine" / f"{name.removeprefix(QUARANTINE)}.parquet"
            return pd.read_parquet(path) if path.exists() else pd.DataFrame()
        step, _, output = name.partition(".")
        found = outputs.get(step)
        if found is None:
            raise KernelError(f"expect.yaml: '{name}': no step '{step}' kept its outputs")
        if not output:
            if len(found) != 1 and "out" not in found:
                raise KernelError(f"expect.yaml: '{name}': the step has outputs {', '.join(found)}: name one")
            output = "out" if "out" in found else next(iter(found))
        if output not in found:
            raise KernelError(f"expect.yaml: '{name}': step '{step}' has no output '{output}'")
        return found[output]

    return rows
