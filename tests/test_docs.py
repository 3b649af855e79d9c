"""The documentation keeps up with the code: every hook spec, signal and command is documented."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from kernel import events, hookspecs, signals
from kernel.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"


def sections(doc: str) -> dict[str, str]:
    text = (DOCS / doc).read_text()
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "kernel_spec")]


def test_the_hook_specs_are_found() -> None:
    assert set(HOOKS) >= {"register_steps", "register_showcases", "connect_listeners", "after_step_run"}


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_spec_is_documented_with_its_parameters(hook: str) -> None:
    section = sections("plugins.md").get(hook)
    assert section, f"docs/plugins.md has no section '### {hook}'"
    for parameter in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert parameter in section, f"{hook}: parameter {parameter} is not documented"
    assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"


@pytest.mark.parametrize("signal", signals.ALL, ids=lambda s: s.name)
def test_every_signal_is_documented_with_its_payload(signal: signals.NamedSignal) -> None:
    section = sections("signals.md").get(signal.name)
    assert section, f"docs/signals.md has no section '### {signal.name}'"
    payload_name = (signal.__doc__ or "").rsplit("event: ", 1)[-1].strip()
    payload = getattr(events, payload_name)
    assert f"`event: {payload_name}`" in section
    for f in dataclasses.fields(payload):
        assert f"`{f.name}`" in section, f"{signal.name}: field {f.name} of {payload_name} is not documented"


def test_every_command_is_documented() -> None:
    documented = sections("cli.md")
    names = []
    for name, command in main.commands.items():
        sub = getattr(command, "commands", None)
        names += [f"kernel {name} {s}" for s in sub] if sub else [f"kernel {name}"]
    for name in names:
        assert any(title.startswith(name) for title in documented), f"docs/cli.md does not document '{name}'"
