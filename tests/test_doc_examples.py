"""Every code block of the README and the docs runs as written, or says that it does not.

A block's info string is its language and then flags:

- ``python``: the blocks of one document run in order in one module (a plugin named after the document,
  whose ``@hookimpl`` functions the kernel registers), in a temporary working directory; a block's
  ``test_*`` functions are then called as pytest would (with ``tmp_path``); ``python file=NAME.py`` is a
  module of its own, written to the working directory, which later blocks import;
- ``yaml``: a pipeline file, run by the kernel with the built-in plugins and the document's module
  (``check``: planned only, as ``kernel validate`` does, for a pipeline whose input files the document
  does not have); ``file=NAME`` names the file, for later blocks;
- ``json`` and ``toml``: parsed;
- any block with ``file=NAME`` is also written to NAME in the working directory, in document order (a
  ``text file=numbers.csv`` block is the data a later pipeline reads);
- ``bash setup``: the README's set-up commands, held to what CI runs (``.ci/run``);
- ``fragment``: a piece of a larger whole, shown but not run; ``text`` and ``console``: drawings and
  transcripts, not code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tomllib
import types
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kernel import Kernel, load_pipeline, signals

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "showcases").rglob("*.md"))]
FENCE = re.compile(r"^( *)```(.*)$")
LANGUAGES = {"python", "yaml", "json", "toml", "bash", "text", "console"}


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    flags: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    def flag(self, name: str) -> str | None:
        found = [f.split("=", 1)[1] for f in self.flags if f.startswith(f"{name}=")]
        return found[0] if found else None


def blocks(document: Path) -> list[Block]:
    lines = document.read_text().splitlines()
    found: list[Block] = []
    at = 0
    while at < len(lines):
        opening = FENCE.match(lines[at])
        if opening is None:
            at += 1
            continue
        indent, info = len(opening.group(1)), opening.group(2).split()
        end = at + 1
        while not lines[end].strip().startswith("```"):
            end += 1
        text = "\n".join(line[indent:] for line in lines[at + 1 : end]) + "\n"
        found.append(Block(document, at + 1, info[0] if info else "", tuple(info[1:]), text))
        at = end + 1
    return found


ALL = [block for document in DOCUMENTS for block in blocks(document)]


def test_the_documents_have_code_blocks() -> None:
    assert len(ALL) > 30


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.where)
def test_every_block_names_its_language(block: Block) -> None:
    assert block.language in LANGUAGES, f"{block.where}: a block opens with ```python, ```yaml, ... or ```text"


def _runnable(document: Path) -> bool:
    return any(b.language in ("python", "yaml") and "fragment" not in b.flags for b in blocks(document))


@contextlib.contextmanager
def _in(directory: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if _runnable(d)], ids=lambda d: str(d.relative_to(ROOT)))
def test_the_python_and_pipelines_of_a_document_run_as_written(document: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    name = "doc_" + re.sub(r"\W", "_", str(document.relative_to(ROOT)).removesuffix(".md"))
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path / f"{name}.py")
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = set(sys.modules)
    connected = {signal: set(signal.receivers) for signal in signals.ALL}
    with _in(tmp_path), contextlib.redirect_stdout(io.StringIO()), _disconnecting(connected):
        for block in blocks(document):
            if "fragment" in block.flags:
                continue
            if block.flag("file") and block.language != "yaml":
                (tmp_path / str(block.flag("file"))).write_text(block.text)
                if block.language == "python":
                    continue  # a module of its own, imported by later blocks
            if block.language == "python":
                before = set(module.__dict__)
                try:
                    exec(compile(block.text, f"{block.where}", "exec"), module.__dict__)
                    for test in sorted(n for n in set(module.__dict__) - before if n.startswith("test_")):
                        (tmp_path / test).mkdir()
                        module.__dict__[test](tmp_path / test)
                except Exception as exc:
                    raise AssertionError(f"{block.where}: {type(exc).__name__}: {exc}") from exc
            elif block.language == "yaml":
                _pipeline(block, module, tmp_path)
    for name in set(sys.modules) - modules:  # the document's own modules (acme_steps) are not another's
        if getattr(sys.modules[name], "__file__", "") and str(tmp_path) in str(sys.modules[name].__file__):
            del sys.modules[name]


@contextlib.contextmanager
def _disconnecting(before: dict[Any, set[Any]]) -> Iterator[None]:
    """Receivers a document connects (its listener examples) are disconnected when it is done."""
    try:
        yield
    finally:
        for signal, kept in before.items():
            for key in set(signal.receivers) - kept:
                held = signal.receivers[key]
                receiver = held() if isinstance(held, weakref.ref) else held
                if receiver is not None:
                    signal.disconnect(receiver)


def _pipeline(block: Block, module: types.ModuleType, tmp_path: Path) -> None:
    path = tmp_path / (block.flag("file") or "pipeline.yaml")
    path.write_text(block.text)
    kernel = Kernel(plugins=[(module.__name__, module)])
    try:
        if "check" in block.flags:
            kernel.plan(load_pipeline(path))
            return
        result = kernel.run(path, runs_root=tmp_path / "runs")
    except Exception as exc:
        raise AssertionError(f"{block.where}: {type(exc).__name__}: {exc}") from exc
    assert result.ok, f"{block.where}: the run did not succeed: {result.record.error}"


@pytest.mark.parametrize("block", [b for b in ALL if b.language in ("json", "toml") and "fragment" not in b.flags],
                         ids=lambda b: b.where)
def test_every_data_example_parses(block: Block) -> None:
    loaded: Any = json.loads(block.text) if block.language == "json" else tomllib.loads(block.text)
    assert loaded


@pytest.mark.parametrize("block", [b for b in ALL if b.language == "yaml" and "fragment" in b.flags],
                         ids=lambda b: b.where)
def test_yaml_fragments_are_yaml(block: Block) -> None:
    assert yaml.safe_load(block.text) is not None


def test_the_readme_set_up_commands_are_what_ci_runs() -> None:
    setup = [b for b in blocks(ROOT / "README.md") if b.language == "bash" and "setup" in b.flags]
    assert len(setup) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet --disable-pip-version-check '.[test]'" in ci and "\npytest -q" in ci
    assert setup[1].text.strip().endswith("pip install '.[test]' && pytest -q")
    assert setup[0].text.strip().endswith("pip install . && kernel showcase run iot-windowed-kpi")


@pytest.mark.parametrize("block", [b for b in ALL if b.language == "bash" and "setup" not in b.flags],
                         ids=lambda b: b.where)
def test_other_shell_blocks_are_marked(block: Block) -> None:
    assert "fragment" in block.flags, f"{block.where}: a shell block is 'bash setup' or 'bash fragment'"
