from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def write_pipeline(
    directory: Path, steps: list[dict[str, Any]], name: str = "demo", filename: str = "pipeline.yaml", **extra: Any
) -> Path:
    path = directory / filename
    path.write_text(yaml.safe_dump({"name": name, **extra, "steps": steps}, sort_keys=False))
    return path
