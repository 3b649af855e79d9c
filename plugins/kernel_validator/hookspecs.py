"""The validator's own hook, added to the kernel's plugin manager through ``add_hookspecs``."""

from __future__ import annotations

from collections.abc import Iterable

from kernel import hookspec
from kernel_validator.checktype import CheckType


@hookspec
def register_checks() -> Iterable[CheckType] | None:
    """Return the check types this plugin adds to the pipeline file's ``checks:`` syntax.

    Called when a plan is validated and once per run (plugins disabled for the pipeline are left
    out). Each item is a :class:`kernel_validator.CheckType`; a name already taken (by a built-in
    check or another plugin) is an error naming the plugin. Implement it with
    ``@hookimpl(optionalhook=True)`` so that the kernel still starts when the validator is disabled.
    The validator's built-in checks do not come through this hook. Default: none.
    """
