"""The ``stream`` plugin's hooks: the pipeline file's ``stream:`` section and the ``kernel stream`` command."""

from __future__ import annotations

from typing import Any

from kernel import PipelineField, hookimpl


@hookimpl
def register_fields() -> list[PipelineField]:
    """``stream:``: which step reads a landing file, what goes to the sink, which steps wait for the period."""
    from kernel_stream.settings import FIELDS

    return FIELDS


@hookimpl
def register_commands() -> list[Any]:
    """``kernel stream PIPELINE --landing DIR --state DIR`` and ``kernel showcase stream NAME``."""
    from kernel_stream.cli import showcase_stream_command, stream_command

    return [stream_command, showcase_stream_command]
