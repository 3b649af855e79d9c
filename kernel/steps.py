"""Step types: plain functions that plugins register, and the context a step may ask for.

A step function takes its named input DataFrames as one mapping and its settings as keyword
arguments, and returns its named outputs::

    @step("demo.scale", outputs=("out",))
    def scale(inputs: Inputs, *, factor: float = 2.0) -> Outputs:
        return {"out": inputs["frame"] * factor}

It is a pure function of its inputs and settings, so a cache can key it and an executor can
ship it to another process. A step that needs to know about its run (the run id, a directory
for state) declares a keyword-only parameter named ``ctx`` and receives a :class:`StepContext`.

A plugin whose steps need heavy modules registers them by reference, so that commands which only
list or check steps never import those modules::

    StepType("demo.scale", "demo.steps:scale", settings=ScaleSettings, description="Scale a frame.")

The module is imported when a run needs the step (:meth:`StepType.loaded`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from pydantic import BaseModel, ConfigDict, create_model
from typing_extensions import Unpack

from kernel.errors import KernelError
from kernel.lazy import load_reference

if TYPE_CHECKING:
    import pandas as pd

# Quoted: listing or checking steps must not import pandas.
Inputs = Mapping[str, "pd.DataFrame"]
Outputs = Mapping[str, "pd.DataFrame"]
StepFunction = Callable[..., "Outputs | pd.DataFrame"]
Combine = Callable[[list[Mapping[str, "pd.DataFrame"]]], Mapping[str, "pd.DataFrame"]]
Split = Callable[[Mapping[str, Any], int], list[dict[str, Any]]]
Shared = Callable[[Mapping[str, "pd.DataFrame"], Mapping[str, Any]], dict[str, Any]]

_ATTR = "__kernel_step__"
DEFAULT_OUTPUT = "out"

F = TypeVar("F", bound=Callable[..., Any])


class HandedInputs(dict[str, "pd.DataFrame"]):
    """A step's inputs, some of which the kernel handed over (``handed``): frames no later step reads and that
    the kernel keeps no reference to while the step runs (see :func:`take_input`)."""

    handed: tuple[str, ...] = ()


def take_input(inputs: Inputs, name: str) -> pd.DataFrame:
    """The input ``name``, the step's to change: drop each column once done with it (``del frame[column]``).

    It is a shallow copy (no data is copied), so dropping its columns changes nothing that anybody else sees.
    When the kernel handed the frame over (no later step reads it, no retry can need it again, the run keeps
    no outputs), neither the kernel nor ``inputs`` holds it any more: unless the step that made it kept it too,
    each column dropped frees its memory at once, and the run's peak is lower. Take an input once, and read it
    from what this returns: a frame handed over is no longer in ``inputs``.
    """
    if isinstance(inputs, HandedInputs) and name in inputs and name in inputs.handed:
        return inputs.pop(name).copy(deep=False)
    return inputs[name].copy(deep=False)


@dataclass(frozen=True, slots=True)
class DatasetIO:
    """A dataset a step read or wrote: what lineage, and later a cache, need to know about a file."""

    mode: str  # "read" or "write"
    path: str
    format: str
    rows: int | None = None
    columns: Mapping[str, str] | None = None  # column -> dtype
    content_hash: str | None = None  # "sha256:<hex>" of the file's bytes

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent back from a worker process: the read-only column mapping travels as a dict.
        columns = None if self.columns is None else dict(self.columns)
        return (_dataset, (self.mode, self.path, self.format, self.rows, columns, self.content_hash))


def _dataset(*fields: Any) -> DatasetIO:
    mode, path, format, rows, columns, content_hash = fields
    return DatasetIO(mode, path, format, rows, _fixed(columns), content_hash)


def _fixed(columns: Mapping[str, str] | None) -> Mapping[str, str] | None:
    # Listeners and the run record share the object: nobody may change it.
    return None if columns is None else MappingProxyType(dict(columns))


@dataclass(frozen=True, slots=True)
class Staged:
    """A write a step has prepared but not made final: the run makes it final (commits it) once every step
    has succeeded, or discards it. ``kind`` names it (``"io.publish"``), ``details`` say what to do (plain,
    JSON-ready values); the plugin that staged it commits it in its ``commit_staged`` hook."""

    kind: str
    step: str
    details: Mapping[str, Any]


class FileFacts(TypedDict, total=False):
    """What a step may tell of a file it read or wrote (``StepContext.read`` / ``.wrote``)."""

    rows: int | None
    columns: Mapping[str, str] | None  # column -> dtype
    content_hash: str | None  # "sha256:<hex>" of the file's bytes


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step may learn about the run it is part of (opt in with a ``ctx`` parameter).

    A step that reads or writes files reports them with :meth:`read` and :meth:`wrote`; they reach
    listeners in ``StepCompleted.datasets`` and the run record. A step whose writes must become final
    only with the whole run (a results directory, a state store) stages them with :meth:`stage`.
    """

    run_id: str
    step: str
    run_dir: Path
    params: Mapping[str, Any] = field(default_factory=dict)
    datasets: list[DatasetIO] = field(default_factory=list)
    staged: list[Staged] = field(default_factory=list)
    pipeline: str = ""
    # Where progress goes (the runner's, for a step run in its own process); never shipped with the context.
    reporter: Callable[[str, int, int | None, str], None] | None = field(default=None, repr=False, compare=False)

    def progress(self, done: int, total: int | None = None, unit: str = "records") -> None:
        """Say how far the step has come: ``done`` of ``total`` (when known) ``unit``. The command line shows it
        live while the step runs in the orchestrating process (inline, threads); elsewhere it is dropped."""
        if self.reporter is not None:
            self.reporter(self.step, done, total, unit)

    def __reduce__(self) -> tuple[Any, ...]:
        # Shipped to another process without its reporter, which belongs to this one.
        return (StepContext, (self.run_id, self.step, self.run_dir, self.params, self.datasets, self.staged,
                              self.pipeline))

    def stage(self, kind: str, **details: Any) -> None:
        """Ask the run to make a prepared write final once every step has succeeded (see ``commit_staged``)."""
        self.staged.append(Staged(kind, self.step, details))

    def read(self, path: str | Path, format: str, **facts: Unpack[FileFacts]) -> None:
        """Report a file the step read."""
        self._file("read", path, format, facts)

    def wrote(self, path: str | Path, format: str, **facts: Unpack[FileFacts]) -> None:
        """Report a file the step wrote."""
        self._file("write", path, format, facts)

    def _file(self, direction: str, path: str | Path, format: str, facts: FileFacts) -> None:
        rows, columns, content_hash = facts.get("rows"), _fixed(facts.get("columns")), facts.get("content_hash")
        self.datasets.append(DatasetIO(direction, str(path), format, rows, columns, content_hash))


@dataclass(frozen=True, slots=True)
class StepType:
    """A registered kind of step.

    ``inputs`` names the inputs the function requires (``None``: any names, including none);
    ``outputs`` names what it returns; ``settings`` is a pydantic model that validates the
    settings before the run starts (unknown or mistyped settings are an error then, not half-way
    through a run). ``@step`` derives one from the function's keyword parameters when none is given.
    ``claims`` names the settings that hold a path the step writes and no other run may write at the
    same time (a results directory, a state store): a run locks each such path for its whole length.
    ``partitions`` says whether a pipeline may run the step once per partition of its inputs
    (``partitions: {by: [...], count: N}``, docs/executors.md): ``True`` for any key columns, the name
    of the setting listing the columns a partition key may use, or a tuple of those columns. Declare it
    only when the step gives, for any part of its input split by those keys, exactly its rows for that
    part: the parts' outputs are concatenated, or put together by ``combine`` (given each part's outputs,
    in part order) when some output is not (a one-row total, a global order). ``effects`` says the step
    changes something besides its outputs (writes files, publishes): a cache reuses its earlier run only
    while what it wrote is still there, unchanged. ``version``, when given, stands for the step's code in
    a cache key (instead of a hash of its source). ``split``, for a step that reads files, gives the
    settings of each part when a pipeline runs it in parts without ``by`` (``partitions: {count: N}``):
    ``split(settings, count)`` returns at most ``count`` settings, each reading some of the files, whose
    outputs ``combine`` (or concatenation) puts together as the whole step's. ``shared``, for a step run in
    parts by keys, computes once over its whole inputs what every part must share (the window's watermark
    over all keys): ``shared(inputs, settings)`` returns extra keyword arguments given to every part.

    ``func``, ``combine``, ``split`` and ``shared`` may each be a reference, ``"module:attribute"``, imported
    only when a run needs the step (:meth:`loaded`); such a step type should give its ``settings`` model
    and ``description``, which are read without importing it. ``wants_context`` is then read from the
    function once it is imported. ``settings`` may be a reference too, imported when a pipeline that uses
    the step type is checked (:attr:`settings_model`): a plugin with many step types then loads without
    building their models, and listing the step types (``description``) imports none of them.
    """

    name: str
    func: StepFunction | str
    outputs: tuple[str, ...] = (DEFAULT_OUTPUT,)
    inputs: tuple[str, ...] | None = None
    settings: type[BaseModel] | str | None = None
    description: str = ""
    wants_context: bool = False
    claims: tuple[str, ...] = ()
    partitions: bool | str | tuple[str, ...] = False
    effects: bool = False
    version: str | None = None
    combine: Combine | str | None = None
    split: Split | str | None = None
    shared: Shared | str | None = None

    @property
    def function(self) -> StepFunction:
        """The step function (imported if ``func`` is a reference)."""
        return cast(StepFunction, _load(self.name, self.func))

    @property
    def combine_function(self) -> Combine | None:
        return None if self.combine is None else cast(Combine, _load(self.name, self.combine))

    @property
    def split_function(self) -> Split | None:
        return None if self.split is None else cast(Split, _load(self.name, self.split))

    @property
    def shared_function(self) -> Shared | None:
        return None if self.shared is None else cast(Shared, _load(self.name, self.shared))

    @property
    def settings_model(self) -> type[BaseModel] | None:
        """The settings model (imported if ``settings`` is a reference). Raises :class:`KernelError` naming
        the step type and the reference when it cannot be imported or is not a pydantic model."""
        if not isinstance(self.settings, str):
            return self.settings
        try:
            found = load_reference(self.settings)
        except Exception as exc:
            raise KernelError(
                f"step type '{self.name}': cannot import '{self.settings}': {type(exc).__name__}: {exc}"
            ) from None
        if not (isinstance(found, type) and issubclass(found, BaseModel)):
            raise KernelError(f"step type '{self.name}': settings '{self.settings}' is not a pydantic model")
        return found

    @property
    def is_loaded(self) -> bool:
        """Whether every function of the step type is imported (none is still a reference)."""
        return not any(isinstance(f, str) for f in (self.func, self.combine, self.split, self.shared))

    def loaded(self) -> StepType:
        """The step type with every reference imported: what a run calls. Raises :class:`KernelError`
        naming the step type and the reference when one cannot be imported."""
        if self.is_loaded:
            return self
        func = self.function
        return dataclasses.replace(
            self,
            func=func,
            wants_context=self.wants_context or _wants_context(func),
            combine=self.combine_function,
            split=self.split_function,
            shared=self.shared_function,
        )

    def validate_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Return the settings as keyword arguments, checked by the settings model if there is one
        (a step type given by reference without a model is imported to derive one)."""
        model_type = self.settings_model
        if model_type is None and isinstance(self.func, str):
            model_type = settings_model(self.function)
        if model_type is None:
            return dict(settings)
        model = model_type.model_validate(dict(settings))
        values = {name: getattr(model, name) for name in type(model).model_fields}
        values.update(model.model_extra or {})
        return values


def step(
    name: str,
    *,
    outputs: tuple[str, ...] | list[str] = (DEFAULT_OUTPUT,),
    inputs: tuple[str, ...] | list[str] | None = None,
    settings: type[BaseModel] | None = None,
    description: str | None = None,
    claims: tuple[str, ...] | list[str] = (),
    partitions: bool | str | tuple[str, ...] = False,
    effects: bool = False,
    version: str | None = None,
    combine: Combine | str | None = None,
    split: Split | str | None = None,
    shared: Shared | str | None = None,
) -> Callable[[F], F]:
    """Declare a function as a step type; the function itself is returned unchanged."""

    def mark(func: F) -> F:
        doc = description if description is not None else (inspect.getdoc(func) or "").split("\n")[0]
        spec = StepType(
            name=name,
            func=func,
            outputs=tuple(outputs),
            inputs=tuple(inputs) if inputs is not None else None,
            settings=settings if settings is not None else settings_model(func),
            description=doc,
            wants_context=_wants_context(func),
            claims=tuple(claims),
            partitions=partitions,
            effects=effects,
            version=version,
            combine=combine,
            split=split,
            shared=shared,
        )
        setattr(func, _ATTR, spec)
        return func

    return mark


def _wants_context(func: Callable[..., Any]) -> bool:
    """Whether a step function asks for its run: a keyword-only parameter ``ctx``."""
    params = inspect.signature(func).parameters
    return "ctx" in params and params["ctx"].kind is inspect.Parameter.KEYWORD_ONLY


def _load(step_type: str, target: Callable[..., Any] | str) -> Callable[..., Any]:
    if not isinstance(target, str):
        return target
    try:
        found = load_reference(target)
    except Exception as exc:
        raise KernelError(f"step type '{step_type}': cannot import '{target}': {type(exc).__name__}: {exc}") from None
    if not callable(found):
        raise KernelError(f"step type '{step_type}': '{target}' is not a function (give 'module:function')")
    return cast(Callable[..., Any], found)


def _hints(func: Callable[..., Any], names: list[str]) -> dict[str, Any]:
    """The type hints of the named parameters; one that cannot be resolved is left out (checked by name only).
    Per parameter: an unresolvable inputs or return annotation must not cost the settings their types."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        pass
    hints: dict[str, Any] = {}
    for name in names:
        annotation = getattr(func, "__annotations__", {}).get(name)
        if annotation is None:
            continue
        probe = types.FunctionType(_probe.__code__, getattr(func, "__globals__", {}))
        probe.__annotations__ = {"value": annotation}
        with contextlib.suppress(Exception):
            hints[name] = typing.get_type_hints(probe)["value"]
    return hints


def _probe(value: Any) -> None:
    """A function whose annotations are replaced, to resolve one annotation in another module's namespace."""


def settings_model(func: Callable[..., Any]) -> type[BaseModel]:
    """A pydantic model of a step function's keyword parameters, so plain functions get checked settings too."""
    hints = _hints(func, list(inspect.signature(func).parameters))
    fields: dict[str, Any] = {}
    extra = "forbid"
    for index, (name, param) in enumerate(inspect.signature(func).parameters.items()):
        if (index == 0 and param.kind is not inspect.Parameter.KEYWORD_ONLY) or name == "ctx":
            continue  # the inputs mapping, and the run context
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (hints.get(name, Any), default)
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True)  # type: ignore[typeddict-item]
    model: type[BaseModel] = create_model(f"{func.__name__}_settings", __config__=config, **fields)
    return model


def as_step_type(obj: object) -> StepType | None:
    """The step type an object declares: a :class:`StepType` or a function marked with ``@step``."""
    if isinstance(obj, StepType):
        return obj
    spec = getattr(obj, _ATTR, None)
    return spec if isinstance(spec, StepType) else None
