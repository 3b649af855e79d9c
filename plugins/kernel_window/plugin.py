"""The ``window`` plugin's hook: it registers the step type ``window.tumbling``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from kernel import Inputs, Outputs, StepContext, StepSettingsError, hookimpl, step
from kernel_window.settings import TumblingSettings, WindowConfig
from kernel_window.store import StateStore
from kernel_window.tumbling import process


@step("window.tumbling", inputs=("records",), outputs=("windows", "late", "quarantine", "counts"),
      settings=TumblingSettings)
def tumbling(inputs: Inputs, *, ctx: StepContext | None = None, **settings: Any) -> Outputs:
    """Event-time tumbling windows with a watermark, late-data and quarantine outputs (docs/windowing.md)."""
    try:
        # The kernel has validated the settings already; a direct call has not, and re-checking is cheap.
        parsed = TumblingSettings.model_validate(settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(part) for part in err["loc"])
        message = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
        raise StepSettingsError(message, field=f"settings.{field}" if field else "settings") from None
    config = WindowConfig.from_settings(parsed)
    store = None
    if parsed.state_dir is not None:
        store = StateStore(parsed.state_dir, config, run_id=ctx.run_id if ctx else None,
                           step=ctx.step if ctx else None)
    result, state = process(inputs["records"], config, store.load() if store else None)
    if store is not None and not config.final:
        store.save(state)
    return result.outputs()


@hookimpl
def register_steps() -> Iterable[Any]:
    """The step types of this plugin: ``window.tumbling``."""
    return [tumbling]
