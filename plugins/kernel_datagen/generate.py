"""Generate the data set a ``data.yaml`` declares: the same spec, scale and seed give the same bytes.

    python -m kernel_datagen data.yaml --out DIR [--scale 2] [--seed 7]

writes each table's files into ``DIR`` and ``DIR/manifest.json`` last (docs/datagen.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kernel import KernelError, write_text_atomic
from kernel_datagen.defects import Built, inject
from kernel_datagen.loading import check, read_spec
from kernel_datagen.manifest import GENERATOR, SCHEMA_VERSION, Manifest, dumps
from kernel_datagen.rules import Resolved, ms
from kernel_datagen.spec import DataSpec
from kernel_datagen.values import Col, Keys, key_maker, make, rate_count, rng_for, series
from kernel_datagen.writers import Drifted, Written, write_table

Progress = Callable[[int, int | None, str], None]  # done, total (when known), unit


def generate(spec: str | Path | DataSpec, out_dir: str | Path, *, scale: float = 1.0, seed: int = 0,
             progress: Progress | None = None) -> Manifest:
    """Write the tables of ``spec`` (a ``data.yaml`` path, or a :class:`DataSpec`) into ``out_dir``.

    Row counts are multiplied by ``scale`` (rounded, at least 1), except for tables declared ``fixed``.
    Each file is written atomically; ``manifest.json`` is written last. Files an earlier generation
    listed in its manifest there and this one does not write are removed. ``progress(rows, total,
    "records")`` is told the rows written so far after each file. A spec that cannot be used raises
    :class:`kernel_datagen.SpecError` naming the file and the field.
    """
    if not scale > 0:
        raise ValueError(f"scale must be more than 0 (got {scale})")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more (got {seed})")
    if isinstance(spec, DataSpec):
        model, source, digest = spec, "data spec", _digest(spec.model_dump_json().encode())
        order, resolved = check(model)
    else:
        model, source = read_spec(spec), Path(spec).name  # the name alone: the manifest is the same anywhere
        digest = _digest(Path(spec).read_bytes())
        order, resolved = check(model, file=spec)
    sizes = _sizes(order, resolved, scale)
    total = sum(n + rate_count(resolved[t].spec.defects.duplicates, n) for t, n in sizes.items())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_files(out / "manifest.json")
    (out / "manifest.json").unlink(missing_ok=True)  # until the new one is written, the data set is incomplete

    keys: dict[tuple[str, str], Keys] = {}
    tables: dict[str, Any] = {}
    done = 0

    def wrote(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, total, "records")

    for name in order:
        table = resolved[name]
        columns = _columns(table, sizes[name], seed, keys)
        if table.spec.key is not None:
            keys[(name, table.spec.key)] = key_maker(table.spec.columns[table.spec.key], columns[table.spec.key].data)
        built = inject(table, columns, seed, keys)
        if table.spec.arrival is not None and built.arrival is not None:
            # When each row landed: its own time, or for a late or out-of-order row the time it came behind.
            built.columns[table.spec.arrival] = Col("timestamp", built.arrival, np.zeros(built.arrival.size, np.bool_))
        written, drifted = write_table(out, table, built, seed, wrote)
        tables[name] = _table_manifest(table, built, written, drifted)
    _remove_stale(out, earlier, {path for t in tables.values() for path in t["files"]})
    document = {"schema_version": SCHEMA_VERSION, "generator": GENERATOR, "spec": source, "spec_sha256": digest,
                "seed": seed, "scale": scale, "rows": done, "tables": tables}
    write_text_atomic(out / "manifest.json", dumps(document) + "\n")
    return Manifest.from_json(document, out / "manifest.json")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _sizes(order: list[str], resolved: Mapping[str, Resolved], scale: float) -> dict[str, int]:
    """Each table's rows before duplicates: ``rows`` times ``scale``, or per key and time for a series."""
    sizes: dict[str, int] = {}
    for name in order:
        spec = resolved[name].spec
        if spec.series is not None:
            parent = spec.series.per.partition(".")[0]
            sizes[name] = sizes[parent] * spec.series.count
        else:
            assert spec.rows is not None
            sizes[name] = spec.rows if spec.fixed else max(1, int(spec.rows * scale + 0.5))
    return sizes


def _columns(table: Resolved, n: int, seed: int, keys: Mapping[tuple[str, str], Keys]) -> dict[str, Col]:
    """The table's columns as generated, in time order, before any defect."""
    columns: dict[str, Col] = {}
    s = table.spec.series
    if s is not None and table.entity is not None and table.series_time is not None:
        values, times = series(keys[table.references[table.entity]].values, s.count, ms(s.start), s.every, s.jitter,
                               rng_for(seed, table.name, table.entity))
        columns[table.entity] = Col(table.types[table.entity], values, np.zeros(n, np.bool_))
        columns[table.series_time] = Col("timestamp", times, np.zeros(n, np.bool_))
    for name, column in table.spec.columns.items():
        parent = keys[table.references[name]] if name in table.references else None
        columns[name] = make(column, table.types[name], n, rng_for(seed, table.name, name), parent=parent)
    return columns


def _table_manifest(table: Resolved, built: Built, written: list[Written], drifted: list[Drifted]) -> dict[str, Any]:
    key = table.spec.key
    defects: dict[str, Any] = {}
    for kind, mark in built.marks.items():
        entry: dict[str, Any] = {"count": int(mark.sum())}
        if key is not None:
            entry["keys"] = _plain(np.unique(built.columns[key].data[mark]))
        else:
            entry["positions"] = np.flatnonzero(mark).tolist()
        entry.update(_details(table, kind))
        defects[kind] = entry
    return {
        "format": table.spec.format,
        "layout": table.spec.layout,
        "key": key,
        "time": table.spec.time or table.series_time,
        "rows": sum(w.rows for w in written),
        "columns": dict(table.types),
        "references": {column: f"{parent}.{key}" for column, (parent, key) in table.references.items()},
        "files": {w.path: w.rows for w in written},
        "defects": defects,
        "schema_drift": [{"column": d.column, "rename": d.rename, "type": d.type, "files": d.files} for d in drifted],
    }


def _plain(values: np.ndarray[Any, Any]) -> list[Any]:
    if values.dtype.kind == "S":
        return [v.decode() for v in values.tolist()]
    return list(values.tolist())


def _details(table: Resolved, kind: str) -> dict[str, Any]:
    what, _, column = kind.partition(".")
    if what == "out_of_range":
        low, high = table.valid[column]
        if table.types[column] == "timestamp":
            from kernel_datagen.values import iso_text

            return {"range": [v.decode() for v in iso_text(np.array([low, high], np.int64)).tolist()]}
        if table.types[column] == "int":
            return {"range": [int(low), int(high)]}
        return {"range": [low, high]}
    if what == "malformed":
        return {"rule": table.rules[column]}
    if what == "orphans":
        parent, key = table.references[column]
        return {"references": f"{parent}.{key}"}
    if what in ("late", "out_of_order") and table.spec.defects.late is not None:
        return {"lateness_ms": table.spec.defects.late.delay[0]}
    return {}


def _earlier_files(path: Path) -> set[str]:
    """The files an earlier generation's manifest lists (ours to replace), or none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(data, dict) or data.get("generator") != GENERATOR:
        return set()
    return {f for t in data.get("tables", {}).values() for f in t.get("files", {})}


def _remove_stale(out: Path, earlier: set[str], now: set[str]) -> None:
    for name in sorted(earlier - now):
        path = out / name
        if ".." in Path(name).parts or not path.is_file():
            continue
        path.unlink()
        for parent in path.parents:  # the partition directories it leaves empty
            if parent == out or any(parent.iterdir()):
                break
            parent.rmdir()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernel_datagen", description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="the data.yaml")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the data set into")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        manifest = generate(args.spec, args.out, scale=args.scale, seed=args.seed)
    except (KernelError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"{args.out}: {manifest.rows:,} rows in {len(manifest.tables)} tables; manifest {manifest.path}")
    return 0
