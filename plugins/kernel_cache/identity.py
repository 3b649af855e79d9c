"""A step type's code identity: what changes when its code, or code it calls, changes.

The identity is the distribution and version the step type comes from, the pandas, pyarrow and numpy
versions, and a hash of the source files of the step function's package (every module of it: helpers
included, installed or not), of the packages of the functions and modules it reaches through its globals
and closure that are not installed libraries, and of the values its closure holds. ``StepType.version``
replaces the source hash.
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
def _version(dist: str) -> str:
    # The module's own __version__ when it is imported (a run has pandas, pyarrow and numpy): looking the
    # distribution up scans sys.path, about 0.7 ms each.
    module = sys.modules.get(dist)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def code_identity(step_type: StepType, origin: str = "") -> str:
    """The identity of ``step_type``'s code (cached per step type for the process); ``origin`` names the
    distribution and version that registered it. Raises :class:`Unfingerprintable` when it cannot be known
    (a function without a source file)."""
    return _identity(step_type.function, step_type.name, step_type.version, origin)


@functools.cache
def _identity(func: Callable[..., Any], name: str, version: str | None, origin: str) -> str:
    parts: dict[str, Any] = {
        "step": name,
        "from": origin,
        "libraries": [f"{d} {_version(d)}" for d in ("pandas", "pyarrow", "numpy")],
    }
    if version is not None:
        parts["version"] = version
    else:
        files: set[tuple[str, Path]] = set(_files_of_module(inspect.getmodule(func)))  # installed or not
        values: list[Any] = []
        _collect(func, files, values, set())
        if not files:
            raise Unfingerprintable(f"the code of step type '{name}' has no source file to hash")
        digest = hashlib.sha256()
        for relative, path in sorted(files):  # named within their package: a moved checkout keeps its keys
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
        parts["source"] = digest.hexdigest()
        parts["closure"] = values
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _collect(func: Any, files: set[tuple[str, Path]], values: list[Any], seen: set[int]) -> None:
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
    return _our_file(path) if path else False


@functools.cache
def _our_file(path: str) -> bool:
    real = os.path.realpath(path)
    return not any(real.startswith(root + os.sep) for root in _LIBRARIES)


@functools.cache
def _files_of(name: str) -> frozenset[tuple[str, Path]]:
    """The source files of top-level package (or module) ``name``, each with its name within the package."""
    top = sys.modules.get(name)
    roots = list(getattr(top, "__path__", []) or [])
    if roots:
        # os.walk rather than Path.rglob, and the root resolved once: a third of the walk's time
        return frozenset(file for root in roots for file in _walk(name, os.path.realpath(root)))
    path = getattr(top, "__file__", None)
    return frozenset({(f"{name}.py", Path(path).resolve())}) if path else frozenset()


def _walk(name: str, root: str) -> Iterator[tuple[str, Path]]:
    """The ``.py`` files under ``root``, each named within package ``name`` (as ``Path.rglob`` finds them:
    hidden directories included, links to directories not followed)."""
    for directory, _, files in os.walk(root):
        inside = os.path.relpath(directory, root)
        prefix = name if inside == "." else f"{name}/{inside.replace(os.sep, '/')}"
        for file in files:
            if file.endswith(".py"):
                yield f"{prefix}/{file}", Path(os.path.realpath(os.path.join(directory, file)))


def _files_of_module(module: types.ModuleType | None) -> frozenset[tuple[str, Path]]:
    return frozenset() if module is None else _files_of(module.__name__.split(".")[0])


def _package_files(module: types.ModuleType | None) -> frozenset[tuple[str, Path]]:
    if module is None or not _ours(module):
        return frozenset()
    return _files_of_module(module)
