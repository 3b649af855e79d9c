"""Pipeline files and --param values are read within limits: an alias bomb, deep nesting or a huge file
is refused with one line, before anything is built or written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel import PipelineError, load_pipeline
from kernel.config import parse_param
from kernel.limits import MAX_FILE_BYTES

# Nine levels of nine aliases each: 342 bytes that stand for 9**9 (387 million) strings.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)
DEEP = "[" * 50_000 + "]" * 50_000


def pipeline_with_param(tmp_path: Path, default: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    indented = "\n".join("      " + line for line in default.splitlines())
    path.write_text(f"name: x\nparams:\n  p:\n    default:\n{indented}\nsteps: []\n")
    return path


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = pipeline_with_param(tmp_path, BOMB)
    started = time.perf_counter()
    with pytest.raises(PipelineError, match=r"more than 100,000 values once its aliases are expanded \(at line"):
        load_pipeline(path)
    assert time.perf_counter() - started < 1.0


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = pipeline_with_param(tmp_path, "&a [*a]")
    with pytest.raises(PipelineError, match="an alias refers to a collection that holds it"):
        load_pipeline(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"pipeline{suffix}"
    path.write_text(f"name: x\nsteps: {DEEP}\n" if suffix == ".yaml" else f'{{"name": "x", "steps": {DEEP}}}')
    with pytest.raises(PipelineError, match="nested deeper than 64 levels") as caught:
        load_pipeline(path)
    assert "\n" not in str(caught.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: x\nsteps: []\n" + "#" * MAX_FILE_BYTES)
    with pytest.raises(PipelineError, match="more than the limit of 1,048,576"):
        load_pipeline(path)


@pytest.mark.parametrize(("value", "message"), [(BOMB, "aliases are expanded"), (DEEP, "more than the limit of 65,536"),
                                                ("[" * 100 + "]" * 100, "nested deeper than 64")])
def test_param_values_have_the_same_limits(value: str, message: str) -> None:
    with pytest.raises(PipelineError, match=f"--param p: .*{message}"):
        parse_param(f"p={value}")


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: x\nparams:\n  a: {default: &cols [x, y]}\n  b: {default: *cols}\nsteps: []\n")
    assert load_pipeline(path).params["b"].default == ["x", "y"]
    assert parse_param("m={a: &v [1, 2], b: *v}") == ("m", {"a": [1, 2], "b": [1, 2]})


def test_the_command_line_says_one_line_and_exits_2(tmp_path: Path) -> None:
    path = pipeline_with_param(tmp_path, BOMB)
    done = subprocess.run([sys.executable, "-m", "kernel", "validate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: more than 100,000 values")


def test_a_key_named_on_or_yes_stays_a_name(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare on/off/yes/no as a boolean; as a mapping key it is always meant as a name.
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: x\nsteps:\n  - {name: a, uses: t.x, settings: {on: [k], yes: 1, off: off, 'true': 2}}\n")
    settings = load_pipeline(path).steps[0].settings
    assert settings == {"on": ["k"], "yes": 1, "off": False, "true": 2}
