"""Reading a ``data.yaml``: every problem is one line naming the file and the field, with what was meant when a
name is misspelt (``data.yaml: field 'tables.orders.columns.amount.distribution.kind': unknown kind
'lognormall'; did you mean 'lognormal'?``)."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kernel import KernelError
from kernel_datagen.rules import Problem, Resolved, resolve
from kernel_datagen.spec import KINDS, DataSpec

MAX_SPEC_BYTES = 1 << 20
_SCALARS = frozenset({"str", "int", "float", "bool", "datetime"})


class SpecError(KernelError):
    """A data spec that cannot be used; ``file`` and ``field`` say where."""


def read_spec(path: str | Path) -> DataSpec:
    """The spec in the YAML file ``path``, checked whole (:func:`check`); :class:`SpecError` otherwise."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"more than {MAX_SPEC_BYTES:,} bytes", file=path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"invalid YAML{where}: {problem}", file=path) from None
    return parse_spec(data, file=path)


def parse_spec(data: Any, *, file: str | Path = "data spec") -> DataSpec:
    """``data`` (as YAML or JSON gives it) as a checked spec; :class:`SpecError` naming ``file`` otherwise."""
    if not isinstance(data, Mapping):
        raise SpecError("must be a mapping with tables: ...", file=file)
    try:
        spec = DataSpec.model_validate(data)
    except ValidationError as exc:
        where, message = explain(exc)
        raise SpecError(message, file=file, field=where or None) from None
    check(spec, file=file)
    return spec


def check(spec: DataSpec, *, file: str | Path = "data spec") -> tuple[list[str], dict[str, Resolved]]:
    """The tables in generation order and each resolved; :class:`SpecError` for fields that do not fit."""
    try:
        return resolve(spec)
    except Problem as problem:
        raise SpecError(problem.message, file=file, field=problem.where) from None


def explain(exc: ValidationError) -> tuple[str, str]:
    """The field a pydantic error is about, as written in the file, and one line saying what is wrong."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path, model = _walk(err["loc"])
    where = ".".join(str(p) for p in path)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(path[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (fields: {', '.join(known)})" if known else ""
        return where, f"unknown field{hint}"
    if kind == "union_tag_not_found":
        return f"{where}.kind", f"required field is missing (kinds: {', '.join(KINDS)})"
    if kind == "missing":
        return where, "required field is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    if message.startswith("unknown kind"):
        where += ".kind"
    return where, message


def _walk(loc: tuple[int | str, ...]) -> tuple[list[int | str], type[BaseModel] | None]:
    """``loc`` without pydantic's own parts (a union's tag or member), and the model holding its last part."""
    path: list[int | str] = []
    node: Any = DataSpec
    holder: type[BaseModel] | None = DataSpec
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            holder = node
            field = node.model_fields.get(str(part))
            node = field.annotation if field is not None else None
            path.append(part)
            continue
        members = typing.get_args(node) if _is_union(node) else ()
        if members:
            tagged = [m for m in members if _tag(m) == part]
            if tagged:
                node = tagged[0]
                continue
            if isinstance(part, str) and (not part.isidentifier() or part in _SCALARS):
                continue  # a member of a union of scalars, or a validator's name
        origin = typing.get_origin(node)
        args = typing.get_args(node)
        if origin is dict:
            node = args[1]
        elif origin in (list, tuple):
            node = args[0] if args else None
        else:
            node = None
        path.append(part)
    return path, holder


def _unwrap(node: Any) -> Any:
    while typing.get_origin(node) is typing.Annotated:
        node = typing.get_args(node)[0]
    return node


def _is_union(node: Any) -> bool:
    import types

    return typing.get_origin(node) in (typing.Union, types.UnionType)


def _tag(member: Any) -> str | None:
    member = _unwrap(member)
    if isinstance(member, type) and issubclass(member, BaseModel) and "kind" in member.model_fields:
        args = typing.get_args(member.model_fields["kind"].annotation)
        return str(args[0]) if args else None
    return None
