"""The tracker's settings (``plugins: {settings: {tracker: {...}}}`` in a pipeline file), checked before a run."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel import validation_problem

if TYPE_CHECKING:
    from openlineage.client.transport import Transport

PLUGIN = "tracker"
DEFAULT_NAMESPACE = "kernel"


class OpenLineageSettings(BaseModel):
    """Where OpenLineage run events go: always ``openlineage.jsonl`` in the run directory, and ``transport``."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    enabled: bool = Field(True, description="emit OpenLineage run events at all")
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, description="the jobs' namespace")
    transport: dict[str, Any] | None = Field(
        None, description="one more transport, as the openlineage-python client configures it ({type: http, ...})"
    )

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            check_transport(value)
        return value


class TrackerSettings(BaseModel):
    """``plugins.settings.tracker`` of a pipeline file (docs/tracker.md lists the keys)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    samples: int = Field(3, ge=0, strict=True, description="sample rows per snapshot; 0 for sensitive data")
    openlineage: OpenLineageSettings = Field(default_factory=lambda: OpenLineageSettings.model_validate({}))


def check_transport(config: Mapping[str, Any]) -> None:
    """Build the transport's config as the client would, without opening any connection."""
    kind = config.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError("a transport needs a 'type' (http, kafka, file, console, composite, ... or a class path)")
    cls = transport_class(kind)
    params = {k: v for k, v in config.items() if k not in ("name", "priority")}
    try:
        cls.config_class.from_dict(params)
    except Exception as exc:
        raise ValueError(f"transport '{kind}': {exc}") from None


def transport_class(kind: str) -> type[Transport]:
    # The client is imported here, not at module level: it costs half a second at every command's start.
    from openlineage.client.transport import Transport, get_default_factory
    from openlineage.client.utils import import_from_string

    known = get_default_factory().transports
    found: Any = known.get(kind, kind)
    if isinstance(found, str):
        if "." not in found:
            raise ValueError(f"unknown transport type '{kind}' (known: {', '.join(sorted(known))})")
        try:
            found = import_from_string(found)
        except Exception as exc:
            raise ValueError(f"transport class '{kind}' cannot be imported: {exc}") from None
    if not inspect.isclass(found) or not issubclass(found, Transport):
        raise ValueError(f"'{kind}' is not an OpenLineage Transport class")
    return found


def load_settings(raw: Mapping[str, Any] | None) -> TrackerSettings:
    return TrackerSettings.model_validate(dict(raw or {}))


def problems(raw: Mapping[str, Any] | None) -> list[str]:
    """One line per problem, naming the field under ``plugins.settings.tracker``."""
    try:
        load_settings(raw)
    except ValidationError as exc:
        where, message = validation_problem(exc, noun="setting")
        return [f"plugins.settings.{PLUGIN}.{where}: {message}" if where else f"plugins.settings.{PLUGIN}: {message}"]
    return []
