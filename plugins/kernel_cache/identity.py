"""A step type's code identity: what changes when its code, or code it calls, changes.

The identity is the distribution and version the step type comes from, the pandas and pyarrow versions,
and a hash of the source files of the step function's package (every module of it: helpers included),
of the packages of the functions and modules it reaches through its globals and closure that are not
installed libraries, and of the values its closure holds. ``StepType.version`` replaces the source hash.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import os
import sys
import sysconfig
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from kernel import StepType
from kernel_cache.fingerprint import Unfingerprintable, canonical

_LIBRARIES = tuple(
    {os.path.realpath(p) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                                   sysconfig.get_paths()["platlib"]) if p}
)


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(importlib.metadata.packages_distributions())


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def code_identity(step_type: StepType) -> str:
    """The identity of ``step_type``'s code (cached per step type for the process); raises
    :class:`Unfingerprintable` when it cannot be known (a function without a source file)."""
    return _identity(step_type.func, step_type.name, step_type.version)


@functools.cache
def _identity(func: Callable[..., Any], name: str, version: str | None) -> str:
    module = inspect.getmodule(func)
    top = (module.__name__ if module else getattr(func, "__module__", "") or "").split(".")[0]
    dists = _distributions().get(top, [])
    parts: dict[str, Any] = {
        "step": name,
        "from": [f"{d} {_version(d)}" for d in sorted(dists)],
        "libraries": [f"{d} {_version(d)}" for d in ("pandas", "pyarrow", "numpy")],
    }
    if version is not None:
        parts["version"] = version
    else:
        files: set[Path] = set()
        values: list[Any] = []
        _collect(func, files, values, set())
        if not files:
            raise Unfingerprintable(f"the code of step type '{name}' has no source file to hash")
        digest = hashlib.sha256()
        for path in sorted(files):
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
        parts["source"] = digest.hexdigest()
        parts["closure"] = values
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _collect(func: Any, files: set[Path], values: list[Any], seen: set[int]) -> None:
    """The source files behind ``func``: its package's, and those of what its code names that is not a library."""
    if id(func) in seen:
        return
    seen.add(id(func))
    files.update(_package_files(inspect.getmodule(func)))
    code = getattr(func, "__code__", None)
    if code is None:
        return
    scope = getattr(func, "__globals__", {})
    for name in _names(code):
        found = scope.get(name)
        if isinstance(found, types.ModuleType):
            files.update(_package_files(found))
        elif (inspect.isfunction(found) or inspect.isclass(found)) and _ours(inspect.getmodule(found)):
            _collect(found, files, values, seen)
    for index, cell in enumerate(getattr(func, "__closure__", None) or ()):
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if inspect.isfunction(content) or inspect.isclass(content):
            if _ours(inspect.getmodule(content)):
                _collect(content, files, values, seen)
        elif not isinstance(content, types.ModuleType):
            values.append(canonical(content, f"the closure of {func.__qualname__} (value {index})"))


def _names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _ours(module: types.ModuleType | None) -> bool:
    """Not the standard library's nor an installed library's (an editable install of a plugin is ours)."""
    path = getattr(module, "__file__", None)
    if not path:
        return False
    real = os.path.realpath(path)
    return not any(real.startswith(root + os.sep) for root in _LIBRARIES)


@functools.cache
def _files_of(name: str) -> frozenset[Path]:
    top = sys.modules.get(name)
    roots = list(getattr(top, "__path__", []) or [])
    if roots:
        return frozenset(p.resolve() for root in roots for p in Path(root).rglob("*.py"))
    path = getattr(top, "__file__", None)
    return frozenset({Path(path).resolve()}) if path else frozenset()


def _package_files(module: types.ModuleType | None) -> frozenset[Path]:
    if module is None or not _ours(module):
        return frozenset()
    return _files_of(module.__name__.split(".")[0])
