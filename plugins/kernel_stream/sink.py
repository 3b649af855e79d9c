"""The sink: each per-batch output as Parquet parts in batch order, merged as they pile up.

A batch writes ``part-<seq>.parquet``. A day of one-second files would leave 86,400 parts per output, and
reading a part costs about 2 ms however small it is, so the stream merges them like a counter in base
``fanout``: once ``fanout`` parts of one level end the directory, they become one part of the next level,
``part-<first>-<last>-l<level>.parquet`` (the batches it holds, in order), unless it would hold more than
``max_rows`` rows. The merged part is written whole (a temporary name, then a rename) before the parts it
replaces are removed; a reader, and a restart, ignore a part that another one covers, so a kill between the
two loses and repeats nothing. Only parts of finished batches are merged: a batch run again after a kill
writes its own part again, which no merged part covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kernel import atomic_path

_PART = re.compile(r"^part-(\d{8})(?:-(\d{8})-l(\d+))?\.parquet$")


@dataclass(frozen=True)
class Part:
    first: int
    last: int
    level: int
    path: Path


def parts(directory: Path) -> list[Part]:
    """Every part in ``directory``, in batch order."""
    found = []
    if directory.is_dir():
        for path in directory.iterdir():
            match = _PART.match(path.name)
            if match:
                first = int(match.group(1))
                last = int(match.group(2)) if match.group(2) else first
                found.append(Part(first, last, int(match.group(3) or 0), path))
    return sorted(found, key=lambda p: (p.first, -p.last, -p.level))


def live(found: list[Part]) -> tuple[list[Part], list[Part]]:
    """The parts to read, and those another part covers (left by a merge cut short); ``found`` in the order
    :func:`parts` gives, so a part is covered when an earlier one reaches as far."""
    current: list[Part] = []
    covered: list[Part] = []
    reach = -1
    for part in found:
        if part.last <= reach:
            covered.append(part)
        else:
            current.append(part)
            reach = part.last
    return current, covered


def read_sink(directory: Path, item: str) -> pd.DataFrame:
    """Every part of one sink output, in batch order, as one frame (what a reader of the sink does)."""
    current, _ = live(parts(directory / item))
    if not current:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p.path) for p in current], ignore_index=True)


def tidy(directory: Path) -> None:
    """Remove the parts a merged part covers (a merge killed after its rename)."""
    for part in live(parts(directory))[1]:
        part.path.unlink(missing_ok=True)


def merge(directory: Path, fanout: int, max_rows: int) -> list[Path]:
    """Merge the parts that end ``directory``, level by level, while ``fanout`` of one level end it."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    made: list[Path] = []
    level = 0
    while fanout > 1:
        current, _ = live(parts(directory))
        trailing: list[Part] = []
        for part in reversed(current):
            if part.level != level:
                break
            trailing.append(part)
        if len(trailing) < fanout:
            return made
        group = trailing[:fanout][::-1]
        if sum(pq.ParquetFile(p.path).metadata.num_rows for p in group) > max_rows:
            return made
        frame = pd.concat([pd.read_parquet(p.path) for p in group], ignore_index=True)
        target = directory / f"part-{group[0].first:08d}-{group[-1].last:08d}-l{level + 1}.parquet"
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
        for part in group:
            part.path.unlink(missing_ok=True)
        made.append(target)
        level += 1
    return made
