"""Pipeline files: the models, loading from YAML or JSON, and parameter substitution."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from kernel.errors import PipelineError, validation_problem
from kernel.limits import MAX_FILE_BYTES, MAX_PARAM_BYTES, LimitError, load_json, load_yaml

STEP_NAME = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
_REF = re.compile(r"\$\{(params|run|pipeline)\.([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_PARTITIONS = 4096


class _Model(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class RetryPolicy(_Model):
    """How often a failing step is tried again, and how long to wait in between.

    The wait before retry ``n`` (1-based) is ``min(delay * backoff ** (n - 1), max_delay)`` seconds.
    """

    attempts: int = Field(0, ge=0, description="retries after the first attempt")
    delay: float = Field(0.5, ge=0)
    backoff: float = Field(2.0, ge=1)
    max_delay: float = Field(60.0, ge=0)

    def wait_before(self, retry: int) -> float:
        return float(min(self.delay * self.backoff ** (retry - 1), self.max_delay))


class InputRef(_Model):
    """A reference to another step's output: ``step`` (its only output) or ``step.output``."""

    step: str
    output: str | None = None

    @classmethod
    def parse(cls, text: str) -> InputRef:
        name, _, output = text.partition(".")
        return cls(step=name, output=output or None)

    def __str__(self) -> str:
        return f"{self.step}.{self.output}" if self.output else self.step


class Partitions(_Model):
    """Run a step once per partition of its inputs: rows are split by a stable hash of the ``by`` columns
    (a key never spans two partitions) into ``count`` parts; without ``by``, a step type that reads files
    splits its files (docs/executors.md). ``count`` may be a parameter (``${params.partitions}``); 1 runs
    the step whole."""

    by: tuple[str, ...] = ()
    count: int | str

    @field_validator("count")
    @classmethod
    def _count(cls, value: int | str) -> int | str:
        if isinstance(value, str) and not _REF.fullmatch(value):
            raise ValueError("must be a number from 1 to 4096, or a reference such as ${params.partitions}")
        if isinstance(value, int) and not 1 <= value <= MAX_PARTITIONS:
            raise ValueError(f"must be a number from 1 to {MAX_PARTITIONS}")
        return value


class StepSpec(_Model):
    """One step of a pipeline file."""

    name: str = Field(pattern=STEP_NAME)
    uses: str
    description: str = ""
    needs: dict[str, InputRef] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    retries: RetryPolicy = Field(default_factory=lambda: RetryPolicy.model_validate({}))
    meta: dict[str, Any] = Field(default_factory=dict, description="free-form, for plugins")
    partitions: Partitions | None = None

    # Keys the kernel does not know are kept for the plugins that add them (``register_fields``); the
    # plan checks them (``kernel.fields``).
    model_config = ConfigDict(defer_build=True, extra="allow", frozen=True)

    @property
    def plugin_fields(self) -> dict[str, Any]:
        """The step's keys the kernel does not know, as written (validated ones: ``PlannedStep.fields``)."""
        return dict(self.model_extra or {})

    @field_validator("needs", mode="before")
    @classmethod
    def _needs(cls, value: Any) -> Any:
        # A list names each input after the referenced output ("a.x" -> x) or step ("a" -> a).
        if value is None:
            return {}
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            named: dict[str, Any] = {}
            for item in value:
                if not isinstance(item, str):
                    raise ValueError("each entry of a needs list is 'step' or 'step.output'")
                ref = InputRef.parse(item)
                key = ref.output or ref.step
                if key in named:
                    raise ValueError(f"two inputs would be named '{key}'; use the mapping form input: step.output")
                named[key] = ref
            return named
        if isinstance(value, dict):
            return {k: InputRef.parse(v) if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("retries", mode="before")
    @classmethod
    def _retries(cls, value: Any) -> Any:
        return {"attempts": value} if isinstance(value, int) else value


class Param(_Model):
    """A pipeline parameter as the file declares it. A mapping default must be written in this long form;
    the value in force (the default or an override) is ``Pipeline.values[name]``."""

    default: Any = None
    description: str = ""
    required: bool = False


class PluginOptions(_Model):
    disable: tuple[str, ...] = ()
    settings: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Pipeline(_Model):
    """A validated pipeline file. ``params`` holds the values in force (defaults and overrides)."""

    name: str = Field(pattern=STEP_NAME)
    description: str = ""
    executor: str | None = None  # where steps run unless the command line says otherwise (docs/executors.md)
    params: dict[str, Param] = Field(default_factory=dict)
    plugins: PluginOptions = Field(default_factory=lambda: PluginOptions.model_validate({}))
    steps: tuple[StepSpec, ...]
    source: Path | None = None

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v if isinstance(v, dict) else {"default": v} for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _unique_steps(self) -> Pipeline:
        seen: set[str] = set()
        for spec in self.steps:
            if spec.name in seen:
                raise PipelineError("duplicate step name", file=self.source, step=spec.name)
            seen.add(spec.name)
        return self

    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)
    model_config = ConfigDict(defer_build=True, extra="allow", frozen=True)  # plugin fields: see StepSpec

    @property
    def plugin_fields(self) -> dict[str, Any]:
        """The file's top-level keys the kernel does not know, as written (validated ones: ``Plan.fields``)."""
        return dict(self.model_extra or {})

    @property
    def values(self) -> dict[str, Any]:
        """The parameters' values in force: each one's override, or its default."""
        return {name: self._overrides.get(name, p.default) for name, p in self.params.items()}

    @property
    def overrides(self) -> dict[str, Any]:
        """The values given for parameters when the file was loaded (``--param``, ``load_pipeline``)."""
        return dict(self._overrides)

    @property
    def directory(self) -> Path:
        return (self.source.parent if self.source else Path.cwd()).resolve()


def parse_param(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` from the command line; the value is read as a YAML scalar or collection."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise PipelineError(f"--param expects key=value, got '{text}'")
    try:
        value = load_yaml(raw, MAX_PARAM_BYTES) if raw else ""
    except LimitError as exc:
        raise PipelineError(f"--param {key.strip()}: {exc}") from None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_pipeline(path: str | Path, params: Mapping[str, Any] | None = None) -> Pipeline:
    """Read, validate and parameterise a pipeline file.

    ``${params.NAME}`` and ``${pipeline.dir}`` in step settings are substituted here;
    ``${run.id}`` and ``${run.dir}`` stay until a run has them.
    """
    path = Path(path)
    data = _read(path)
    if not isinstance(data, dict):
        raise PipelineError("a pipeline file holds a mapping (name, steps, ...)", file=path)
    try:
        pipeline = Pipeline.model_validate({**data, "source": path})
    except ValidationError as exc:
        raise _explain(exc, path, data) from None
    return _apply_params(pipeline, dict(params or {}))


def _read(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # before reading it all into memory
            raise PipelineError(f"{size:,} bytes, more than the limit of {MAX_FILE_BYTES:,}", file=path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"cannot read: {exc}", file=path) from None
    if path.suffix.lower() == ".json":
        try:
            return load_json(text)
        except LimitError as exc:
            raise PipelineError(str(exc), file=path) from None
        except json.JSONDecodeError as exc:
            raise PipelineError(f"invalid JSON at line {exc.lineno}: {exc.msg}", file=path) from None
    try:
        return load_yaml(text)
    except LimitError as exc:
        raise PipelineError(str(exc), file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PipelineError(f"invalid YAML{where}: {problem}", file=path) from None


def _explain(exc: ValidationError, path: Path, data: dict[str, Any]) -> PipelineError:
    err = exc.errors()[0]
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, PipelineError):
        return cause
    where, message = validation_problem(exc)
    if message == "required field is missing" and "." not in where:
        # A misspelt top-level field leaves the real one missing: name the misspelling ('stepz').
        close = difflib.get_close_matches(where, [str(k) for k in data if k not in Pipeline.model_fields], n=1)
        if close:
            return PipelineError(f"required field is missing; the file has '{close[0]}': did you mean '{where}'?",
                                 file=path, field=where)
    loc = where.split(".") if where else []
    step = None
    if len(loc) >= 2 and loc[0] == "steps" and loc[1].isdigit():
        steps = data.get("steps") or []
        index = int(loc[1])
        if index < len(steps) and isinstance(steps[index], dict):
            step = str(steps[index].get("name", f"#{index + 1}"))
        loc = loc[2:]
    return PipelineError(message, file=path, step=step, field=".".join(loc) or None)


def _apply_params(pipeline: Pipeline, overrides: dict[str, Any]) -> Pipeline:
    unknown = sorted(set(overrides) - set(pipeline.params))
    if unknown:
        known = ", ".join(sorted(pipeline.params)) or "none"
        raise PipelineError(f"unknown parameter '{unknown[0]}' (parameters: {known})", file=pipeline.source)
    given = {name: overrides.get(name, p.default) for name, p in pipeline.params.items()}
    for name, p in pipeline.params.items():
        if p.required and given[name] is None:
            raise PipelineError(f"parameter '{name}' is required: pass --param {name}=...", file=pipeline.source)
    values = {f"params.{k}": v for k, v in given.items()}
    values["pipeline.dir"] = str(pipeline.directory)
    steps = []
    for spec in pipeline.steps:
        update: dict[str, Any] = {}
        for field, value in {"settings": spec.settings, **spec.plugin_fields}.items():
            try:
                update[field] = substitute(value, values, keep=("run",))
            except KeyError as exc:
                raise PipelineError(unknown_reference(exc.args[0], values), file=pipeline.source, step=spec.name,
                                    field=field) from None
        parts = spec.partitions
        if parts is not None and isinstance(parts.count, str):
            try:
                count = substitute(parts.count, values, keep=("run",))
            except KeyError as exc:
                raise PipelineError(unknown_reference(exc.args[0], values), file=pipeline.source, step=spec.name,
                                    field="partitions.count") from None
            update["partitions"] = parts.model_copy(update={"count": count})
        steps.append(spec.model_copy(update=update))
    applied = pipeline.model_copy(update={"steps": tuple(steps)})
    applied._overrides = dict(overrides)
    return applied


def unknown_reference(name: str, values: Mapping[str, Any]) -> str:
    """The message for ``${name}`` that is no parameter or run value, naming the closest known one."""
    known = sorted({*values, "run.id", "run.dir"})
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean ${{{close[0]}}}?" if close else f" (known: {', '.join('${' + k + '}' for k in known)})"
    return f"unknown reference ${{{name}}}{hint}"


def substitute(value: Any, values: Mapping[str, Any], keep: tuple[str, ...] = ()) -> Any:
    """Replace ``${scope.name}`` references; a whole-string reference keeps the value's type."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            key = f"{whole.group(1)}.{whole.group(2)}"
            if whole.group(1) in keep and key not in values:
                return value
            return values[key]

        def one(match: re.Match[str]) -> str:
            key = f"{match.group(1)}.{match.group(2)}"
            if match.group(1) in keep and key not in values:
                return match.group(0)
            return str(values[key])

        return _REF.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, values, keep) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, values, keep) for v in value]
    return value
