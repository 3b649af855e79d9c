"""Showcases: complete pipelines that plugins contribute and users run by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Showcase:
    """A pipeline file shipped by a plugin, and optionally a generator of its default data set.

    ``generate(out_dir, **options)`` writes the data set into ``out_dir``; ``data_param`` names the
    pipeline parameter that points at it; ``defaults`` are the options for the default data set;
    ``results_param`` names the parameter holding where the results go (printed after a run).
    """

    name: str
    pipeline: Path
    description: str = ""
    generate: Callable[..., Any] | None = None
    data_param: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    results_param: str | None = None
