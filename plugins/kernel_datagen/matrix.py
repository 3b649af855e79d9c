"""The showcase suite's coverage, made from the showcases' own files: each showcase's domain, archetype and
shape (its pipeline.yaml) and input formats (its data.yaml), and how many showcases cover each.

    python -m kernel_datagen.matrix > docs/showcases/README.md

``tests/test_showcases.py`` holds the committed page to what this writes.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from kernel_datagen.plugin import read_yaml, showcase_name

DOMAINS = ("finance", "manufacturing", "iot", "logistics", "retail", "healthcare", "energy", "media", "education",
           "public sector data")
ARCHETYPES = ("multi-source conformance", "windowed KPI", "quality branch with quarantine", "star schema",
              "SCD2 history", "streaming-style enrichment", "hierarchical aggregation", "anomaly detection",
              "parallel transforms", "reconciliation")
SHAPES = ("linear", "fan-in", "fan-out", "diamond", "star", "wide parallel")
FORMATS = ("avro", "json", "csv", "parquet")
TARGETS = {"domain": 8, "archetype": 6, "shape": 10, "format": 15}  # showcases each must have, at least


@dataclass(frozen=True, slots=True)
class Entry:
    directory: str
    name: str
    question: str
    domain: str
    archetype: str
    shape: str
    formats: tuple[str, ...]


def entries(root: Path | None = None) -> list[Entry]:
    """Every showcase directory (``NNN-name`` or the flagship's) with a pipeline.yaml, in suite order."""
    root = root or Path(str(files("kernel_showcases")))
    found = []
    for directory in sorted(p for p in root.iterdir() if (p / "pipeline.yaml").is_file()):
        pipeline = read_yaml(directory / "pipeline.yaml") or {}
        formats: tuple[str, ...] = ()
        if (directory / "data.yaml").is_file():
            spec = read_yaml(directory / "data.yaml") or {}
            formats = tuple(sorted({str(t.get("format")) for t in (spec.get("tables") or {}).values()}))
        description = " ".join(str(pipeline.get("description") or "").split())
        question = description.split("?")[0] + "?" if "?" in description else description.split(". ")[0]
        found.append(Entry(directory.name, showcase_name(directory.name), question,
                           str(pipeline.get("domain") or ""), str(pipeline.get("archetype") or ""),
                           str(pipeline.get("shape") or ""), formats))
    return found


def _norm(value: str) -> str:
    return value.strip().lower()


def render(found: list[Entry]) -> str:
    count_domain = Counter(_norm(e.domain) for e in found)
    count_archetype = Counter(_norm(e.archetype) for e in found)
    count_shape = Counter(_norm(e.shape) for e in found)
    count_format = Counter(f for e in found for f in e.formats)
    lines = [
        "# The showcase suite",
        "",
        "Made by `python -m kernel_datagen.matrix` from the showcases' own files (`showcases/*/pipeline.yaml`:",
        "domain, archetype, shape; `data.yaml`: input formats); `tests/test_showcases.py` fails when this page",
        "and the files disagree. Run them all with `kernel showcase run --all` (docs/cli.md).",
        "",
        f"{len(found)} showcases.",
        "",
        "| showcase | question | domain | archetype | shape | formats |",
        "|---|---|---|---|---|---|",
    ]
    for e in found:
        question = e.question.replace("|", "\\|")
        lines.append(f"| [{e.directory}](../../showcases/{e.directory}/README.md) | {question} | {e.domain} | "
                     f"{e.archetype} | {e.shape} | {', '.join(e.formats) or 'its own generator'} |")
    lines += ["", "## Coverage", "",
              "How many showcases cover each, beside the suite's target (at least that many each).", ""]
    for title, names, counts, target in (("domain", DOMAINS, count_domain, TARGETS["domain"]),
                                         ("archetype", ARCHETYPES, count_archetype, TARGETS["archetype"]),
                                         ("shape", SHAPES, count_shape, TARGETS["shape"]),
                                         ("format", FORMATS, count_format, TARGETS["format"])):
        lines += [f"| {title} | showcases | target |", "|---|---|---|"]
        for name in names:
            have = counts.get(_norm(name), 0)
            lines.append(f"| {name} | {have} | {target}{'' if have >= target else ' (not yet)'} |")
        lines.append("")
    lines += ["## Domain by archetype", "", "| domain | " + " | ".join(ARCHETYPES) + " |",
              "|---|" + "---|" * len(ARCHETYPES)]
    pairs = Counter((_norm(e.domain), _norm(e.archetype)) for e in found)
    for domain in DOMAINS:
        cells = [str(pairs.get((domain, _norm(a)), 0) or "") for a in ARCHETYPES]
        lines.append(f"| {domain} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render(entries()))


if __name__ == "__main__":
    main()
