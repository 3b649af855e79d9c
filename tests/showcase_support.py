"""Running a data-declared showcase once per test session at a tiny scale, for the generic expectations test
(tests/test_showcases.py) and each showcase's own recomputation (tests/showcases/)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
from kernel_datagen import Manifest, generate, run_rows
from kernel_datagen.plugin import showcase_name

from kernel import Kernel, RunResult

ROOT = Path(str(files("kernel_showcases")))
TINY = 0.2  # the scale CI runs every showcase at
SEED = 11


def data_showcases() -> dict[str, Path]:
    """The showcases whose data datagen declares, by name: directories with pipeline.yaml, data.yaml and
    expect.yaml, in the suite's order."""
    return {showcase_name(d.name): d for d in sorted(ROOT.iterdir())
            if all((d / f).is_file() for f in ("pipeline.yaml", "data.yaml", "expect.yaml"))}


@dataclass(frozen=True)
class ShowcaseRun:
    name: str
    data: Path
    results: Path
    manifest: Manifest
    result: RunResult

    def rows(self, name: str) -> Any:
        """``step.output`` or ``quarantine/step.output`` of the run."""
        return run_rows(self.result.outputs, self.result.run.run_dir)(name)

    def published(self, name: str) -> pd.DataFrame:
        """A file the run published into its results directory, by name without extension."""
        (found,) = [p for p in self.results.iterdir() if p.stem == name]
        if found.suffix == ".csv":
            return pd.read_csv(found)
        if found.suffix == ".parquet":
            return pd.read_parquet(found)
        return pd.read_json(found, lines=found.suffix == ".jsonl")


def raw_avro(data: Path, pattern: str) -> pd.DataFrame:
    """The records of the Avro files under ``data`` that match ``pattern``, in file order, read with fastavro:
    a showcase's figures are recomputed without the kernel's own reader."""
    import fastavro

    rows: list[dict[str, Any]] = []
    for path in sorted(data.glob(pattern)):
        with path.open("rb") as stream:
            rows.extend(fastavro.reader(stream))
    return pd.DataFrame(rows)


_ROOT: list[Path] = []


def use_root(path: Path) -> None:
    if not _ROOT:
        _ROOT.append(path)


@cache
def run_showcase(name: str, scale: float = TINY, seed: int = SEED) -> ShowcaseRun:
    """Generate the showcase's data (datagen) and run its pipeline, keeping the outputs; once per session."""
    directory = data_showcases()[name]
    root = _ROOT[0] / f"{name}-{scale}-{seed}"
    data, results = root / "data", root / "results"
    manifest = generate(directory / "data.yaml", data, scale=scale, seed=seed)
    result = Kernel().run(directory / "pipeline.yaml", params={"data": str(data), "results": str(results)},
                          runs_root=root / "runs", keep_outputs=True)
    return ShowcaseRun(name, data, results, manifest, result)
