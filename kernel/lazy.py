"""What is imported only when first used: a package's names (PEP 562), and functions given by reference, so that
importing a plugin, listing its steps or checking a pipeline stays cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__``: ``names`` maps each name the package exports to the module
    that defines it, imported when the name is first used::

        __getattr__, __dir__ = lazy_exports(__name__, {"read_frame": "my_plugin.formats"})

    The built-in plugins' packages are written so: loading a plugin to list its steps imports none of them.
    """

    def __getattr__(name: str) -> Any:
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module '{package}' has no attribute '{name}'") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # once
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__


def load_reference(reference: str) -> Any:
    """The object ``"module:attribute"`` names (``attribute`` may be dotted), importing its module. Raises
    ``ImportError``, ``AttributeError`` or ``ValueError`` (no attribute given) as Python does."""
    module, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"'{reference}' names no attribute: give 'module:function'")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
