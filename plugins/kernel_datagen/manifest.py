"""``manifest.json``: exactly what a generation wrote and which rows each defect touched, the ground truth a
showcase's checks are held to. Written last: its presence says the data set is complete."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
GENERATOR = "kernel_datagen"


@dataclass(frozen=True, slots=True)
class Affected:
    """The rows one defect touched: how many rows of the files have it, and which (their keys, or for a
    table without a key their positions in file order); ``details`` says what else the manifest records
    (the valid range, the rule a well-formed text follows, the least lateness)."""

    count: int
    keys: tuple[str | int, ...] | None
    positions: tuple[int, ...] | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TableManifest:
    name: str
    format: str
    layout: str
    key: str | None
    time: str | None
    rows: int
    columns: Mapping[str, str]  # name -> int, float, string, bool or timestamp
    references: Mapping[str, str]  # column -> the key it refers to, table.column
    files: Mapping[str, int]  # path below the data set -> rows
    defects: Mapping[str, Affected]  # "duplicates", "nulls.COLUMN", "orphans.COLUMN", "late", ...
    schema_drift: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """What :func:`kernel_datagen.generate` wrote into ``path.parent``."""

    path: Path
    seed: int
    scale: float
    tables: Mapping[str, TableManifest]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """The manifest in ``path`` (a ``manifest.json``, or the data set's directory)."""
        path = Path(path)
        if path.is_dir():
            path = path / "manifest.json"
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path) -> Manifest:
        if data.get("generator") != GENERATOR or data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"{path}: not a manifest of {GENERATOR} version {SCHEMA_VERSION}")
        tables = {}
        for name, t in data["tables"].items():
            defects = {}
            for kind, d in t["defects"].items():
                rest = {k: v for k, v in d.items() if k not in ("count", "keys", "positions")}
                defects[kind] = Affected(d["count"], tuple(d["keys"]) if "keys" in d else None,
                                         tuple(d["positions"]) if "positions" in d else None, rest)
            tables[name] = TableManifest(name, t["format"], t["layout"], t["key"], t["time"], t["rows"],
                                         dict(t["columns"]), dict(t["references"]), dict(t["files"]), defects,
                                         tuple(t["schema_drift"]))
        return cls(path, data["seed"], data["scale"], tables)


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with objects indented and lists of plain values on one line: readable, and the same text for the
    same value."""
    pad = "  " * (indent + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return json.dumps(list(value), ensure_ascii=False)
        return "[\n" + ",\n".join(pad + dumps(v, indent + 1) for v in value) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False)
