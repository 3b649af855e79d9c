"""YAML and JSON from users, read within limits: size, nesting depth, and the size after aliases expand.

A few hundred bytes of YAML aliases ("billion laughs") expand to billions of values when the result is
written out (``run.json`` holds the parameters), and deep nesting exhausts Python's stack. Both are
refused before anything is built, with one line naming the limit.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

MAX_FILE_BYTES = 1 << 20  # a pipeline file
MAX_PARAM_BYTES = 64 << 10  # one --param value
MAX_DEPTH = 64  # nested collections
MAX_VALUES = 100_000  # values once every alias is expanded


class LimitError(ValueError):
    """Text over a limit; the message is one line."""


BOOL_TAG = "tag:yaml.org,2002:bool"
STR_TAG = "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts the depth while it composes, before any recursion runs deep."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise LimitError(f"nested deeper than {MAX_DEPTH} levels (at line {mark.line + 1})")
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                if key.tag == BOOL_TAG and key.style is None and key.value.lower() not in ("true", "false"):
                    key.tag = STR_TAG  # a key 'on', 'yes' or 'no' is a name, not YAML 1.1's boolean
        return node


def _expanded(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many values ``node`` stands for once aliases are expanded (shared nodes are counted once each
    time they are used, computed once)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise LimitError(f"an alias refers to a collection that holds it (at line {node.start_mark.line + 1})")
    open_.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded(child, sizes, open_) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded(k, sizes, open_) + _expanded(v, sizes, open_) for k, v in node.value)
    open_.discard(key)
    sizes[key] = total
    if total > MAX_VALUES:
        raise LimitError(f"more than {MAX_VALUES:,} values once its aliases are expanded "
                         f"(at line {node.start_mark.line + 1})")
    return total


def load_yaml(text: str, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Parse YAML within the limits; :class:`LimitError` or ``yaml.YAMLError`` when it cannot be."""
    _check_size(text, max_bytes)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded(node, {}, set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_json(text: str, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Parse JSON within the size and depth limits (JSON has no aliases)."""
    _check_size(text, max_bytes)
    too_deep = LimitError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(text)
    except RecursionError:
        raise too_deep from None
    level: list[Any] = [data]
    for _ in range(MAX_DEPTH + 1):  # breadth first, one level at a time: no recursion
        level = [c for v in level if isinstance(v, dict | list) for c in (v.values() if isinstance(v, dict) else v)]
        if not level:
            return data
    raise too_deep


def _check_size(text: str, max_bytes: int) -> None:
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise LimitError(f"{size:,} bytes, more than the limit of {max_bytes:,}")
