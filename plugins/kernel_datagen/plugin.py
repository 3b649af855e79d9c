"""The ``datagen`` plugin's hooks: every showcase directory with a ``data.yaml`` beside its ``pipeline.yaml``
becomes a showcase whose data set the spec declares.

Nothing heavy is imported here: listing showcases reads two small YAML files per showcase and no more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from kernel import KernelError, Showcase, hookimpl

DATA_PARAM = "data"  # the pipeline parameter that names the data set's directory
RESULTS_PARAM = "results"  # if the pipeline has it: where the results go, printed after a run
SHOWCASES = "kernel_showcases"
NUMBERED = re.compile(r"^[0-9]{3}-")

Progress = Callable[[int, int | None, str], None]
# libyaml's parser where PyYAML was built with it: the hundred showcases' files take 0.14 s to read with it,
# 1.04 s with the pure-Python one, on every command that lists or runs a showcase
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A showcase's own YAML file (part of the package, not a user's), parsed as ``yaml.safe_load`` does."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


@hookimpl
def register_showcases() -> list[Showcase]:
    found = []
    for entry in sorted(files(SHOWCASES).iterdir(), key=lambda e: e.name):
        pipeline, data = entry / "pipeline.yaml", entry / "data.yaml"
        if not (entry.is_dir() and pipeline.is_file() and data.is_file()):
            continue
        params, description = _pipeline_facts(Path(str(pipeline)))
        found.append(Showcase(name=showcase_name(entry.name), pipeline=Path(str(pipeline)), description=description,
                              generate=generator(Path(str(data))), data_param=DATA_PARAM,
                              results_param=RESULTS_PARAM if RESULTS_PARAM in params else None))
    return found


def showcase_name(directory: str) -> str:
    """A showcase's name from its directory: ``012-ledger-reconciliation`` is ``ledger-reconciliation`` (the
    number orders the suite)."""
    return NUMBERED.sub("", directory)


def _pipeline_facts(path: Path) -> tuple[set[str], str]:
    """The pipeline's parameter names and the first sentence of its description (none if it cannot be read:
    running it will say why)."""
    try:
        data = read_yaml(path)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return set(), ""
    if not isinstance(data, dict):
        return set(), ""
    params = set(data["params"]) if isinstance(data.get("params"), dict) else set()
    text = " ".join(str(data.get("description") or "").split())
    first = re.split(r"(?<=[.?!]) ", text, maxsplit=1)[0]
    return params, first.removesuffix(".")


def generator(spec: Path) -> Callable[..., Any]:
    """The generator of the data set ``spec`` declares, as ``kernel showcase data`` calls it: its options
    are ``--scale`` and ``--seed``."""

    def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 0, progress: Progress | None = None) -> Any:
        """Write the data set into ``out_dir``: row counts times ``scale``, values from ``seed``."""
        if not scale > 0:
            raise KernelError(f"--scale must be more than 0 (got {scale})")
        if seed < 0:
            raise KernelError(f"--seed must be 0 or more (got {seed})")
        from kernel_datagen.generate import generate as write

        return write(spec, out_dir, scale=scale, seed=seed, progress=progress)

    return generate
