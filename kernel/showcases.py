"""Showcases: complete pipelines that plugins contribute and users run by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from kernel.lazy import load_reference


@dataclass(frozen=True, slots=True)
class Showcase:
    """A pipeline file shipped by a plugin, and optionally a generator of its default data set.

    ``generate(out_dir, **options)`` writes the data set into ``out_dir``; ``data_param`` names the
    pipeline parameter that points at it; ``defaults`` are the options for the default data set;
    ``results_param`` names the parameter holding where the results go (printed after a run). ``stream``
    is the pipeline's streamed form, run over the files landing in ``landing`` (a folder of the data
    directory) by ``kernel showcase stream`` when a streaming plugin is installed.
    ``generate`` may be a reference, ``"module:function"``, imported only when data is generated.
    """

    name: str
    pipeline: Path
    description: str = ""
    generate: Callable[..., Any] | str | None = None
    data_param: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    results_param: str | None = None
    stream: Path | None = None  # its streamed form: a pipeline file with a ``stream:`` section
    landing: str | None = None  # where the data set's streamed files land, relative to its data directory

    def generator(self) -> Callable[..., Any] | None:
        """``generate``, imported if it is a reference."""
        if not isinstance(self.generate, str):
            return self.generate
        return cast(Callable[..., Any], load_reference(self.generate))
