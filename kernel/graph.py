"""The step graph: built from a pipeline and the registered step types, validated, then inspected.

Building the graph is kept apart from running it: a :class:`Plan` is a value that ``kernel
validate`` and ``kernel graph`` stop at, and that the runner executes.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kernel.config import MAX_PARTITIONS, Pipeline, StepSpec, substitute, unknown_reference
from kernel.errors import KernelError, PipelineError, StepSettingsError, validation_problem
from kernel.fields import Fields, resolve
from kernel.steps import DEFAULT_OUTPUT, StepType

if TYPE_CHECKING:
    import networkx as nx

TOPOLOGIES = ("linear", "fan-out", "fan-in", "diamond", "parallel", "general")


@dataclass(frozen=True, slots=True)
class RegisteredStep:
    """A step type together with the plugin that registered it."""

    type: StepType
    plugin: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A path a step writes that no other run may write at the same time (see ``StepType.claims``)."""

    step: str
    setting: str
    path: Path  # as the settings give it (relative paths are relative to the working directory)

    @property
    def real(self) -> Path:
        """The path with symbolic links resolved: two names of one directory are one claim."""
        return Path(os.path.realpath(self.path))

    def describe(self) -> str:
        return f"step '{self.step}' (settings.{self.setting})"


def overlaps(a: Path, b: Path) -> bool:
    """Whether one of two resolved paths is the other or lies inside it."""
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A step ready to run: its spec, its type, its checked keyword settings and its resolved inputs."""

    spec: StepSpec
    type: StepType
    plugin: str
    kwargs: Mapping[str, Any]
    inputs: Mapping[str, tuple[str, str]]  # input name -> (producing step, output name)
    index: int  # position in the deterministic topological order
    producers: tuple[str, ...] = ()  # the steps it reads from, each once
    consumers: tuple[str, ...] = ()  # the steps that read from it, each once, in declaration order
    reads: tuple[tuple[str, str], ...] = ()  # the (step, output) pairs it reads, each once
    claims: tuple[Claim, ...] = ()  # the paths it writes exclusively
    fields: Mapping[str, Any] = field(default_factory=dict)  # plugin fields of the step, validated (or defaults)


@dataclass(frozen=True, slots=True)
class Plan:
    pipeline: Pipeline
    graph: nx.DiGraph[str]
    steps: Mapping[str, PlannedStep]  # in topological order
    fields: Mapping[str, Any] = field(default_factory=dict)  # plugin fields of the pipeline, validated (or defaults)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(self.steps)

    @property
    def topology(self) -> str:
        return topology(self.graph)

    def loaded(self) -> Plan:
        """The plan with every step type's functions imported (``StepType.loaded``): what a run executes.
        A reference that cannot be imported is refused naming the step and its ``uses``."""
        if all(planned.type.is_loaded for planned in self.steps.values()):
            return self
        steps = {}
        for name, planned in self.steps.items():
            try:
                steps[name] = dataclasses.replace(planned, type=planned.type.loaded())
            except KernelError as exc:
                raise PipelineError(f"plugin '{planned.plugin}': {exc.message}", file=self.pipeline.source,
                                    step=name, field="uses") from None
        return dataclasses.replace(self, steps=MappingProxyType(steps))


def build_plan(
    pipeline: Pipeline,
    registry: Mapping[str, RegisteredStep],
    run_values: Mapping[str, Any] | None = None,
    disabled_steps: Mapping[str, str] | None = None,
    fields: Fields | None = None,
    disabled_fields: Fields | None = None,
    unloaded: tuple[str, ...] = (),
) -> Plan:
    """Check every step against the registry and build the DAG.

    ``run_values`` fills ``${run.id}`` and ``${run.dir}``; without them (``kernel validate``)
    placeholders stand in. ``disabled_steps`` names, for step types of disabled plugins, the plugin;
    ``fields`` are the plugin fields the file may have (``disabled_fields``: let through unread).
    ``unloaded`` names the installed plugins that could not be loaded: an unknown step type may be theirs.
    """
    import networkx as nx  # here, not at the top: listing plugins and steps must not pay for it

    fields, disabled_fields = fields or {}, disabled_fields or {}
    source = pipeline.source
    values = dict(run_values or {"run.id": "RUN_ID", "run.dir": "RUN_DIR"})
    specs = {spec.name: spec for spec in pipeline.steps}
    own = [name for name in Pipeline.model_fields if name != "source"]
    pipeline_fields = resolve(pipeline.plugin_fields, "pipeline", fields, disabled_fields, own, file=source)
    step_fields = {
        spec.name: resolve(spec.plugin_fields, "step", fields, disabled_fields, list(StepSpec.model_fields),
                           file=source, step=spec.name)
        for spec in pipeline.steps
    }
    graph: nx.DiGraph[str] = nx.DiGraph()
    resolved: dict[str, tuple[RegisteredStep, dict[str, Any], dict[str, tuple[str, str]]]] = {}
    for spec in pipeline.steps:
        graph.add_node(spec.name)
        entry = registry.get(spec.uses)
        off = (disabled_steps or {}).get(spec.uses)
        if off is not None:
            raise PipelineError(
                f"step type '{spec.uses}' comes from plugin '{off}', which is disabled",
                file=source,
                step=spec.name,
                field="uses",
            )
        if entry is None:
            close = difflib.get_close_matches(spec.uses, list(registry), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            if unloaded:
                hint += f"; installed but not loaded: plugin {', '.join(unloaded)}"
            raise PipelineError(
                f"no plugin registers step type '{spec.uses}'{hint}", file=source, step=spec.name, field="uses"
            )
        inputs: dict[str, tuple[str, str]] = {}
        for input_name, ref in spec.needs.items():
            producer = specs.get(ref.step)
            if producer is None:
                close = difflib.get_close_matches(ref.step, list(specs), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise PipelineError(
                    f"needs '{ref}', but no step is named '{ref.step}'{hint}",
                    file=source,
                    step=spec.name,
                    field=f"needs.{input_name}",
                )
            produced = registry[producer.uses].type.outputs if producer.uses in registry else ()
            output = ref.output
            if output is None:
                if len(produced) != 1 and DEFAULT_OUTPUT in produced:
                    output = DEFAULT_OUTPUT  # the main output; the others (rejects, say) are named when wanted
                elif len(produced) != 1:
                    names = ", ".join(produced) or "none"
                    raise PipelineError(
                        f"step '{ref.step}' has outputs {names}: name one as '{ref.step}.OUTPUT'",
                        file=source,
                        step=spec.name,
                        field=f"needs.{input_name}",
                    )
                else:
                    output = produced[0]
            elif producer.uses in registry and output not in produced:
                raise PipelineError(
                    f"step '{ref.step}' has no output '{output}' (outputs: {', '.join(produced)})",
                    file=source,
                    step=spec.name,
                    field=f"needs.{input_name}",
                )
            inputs[input_name] = (ref.step, output)
            graph.add_edge(ref.step, spec.name)
        required = entry.type.inputs
        if required is not None:
            missing = [name for name in required if name not in inputs]
            extra = [name for name in inputs if name not in required]
            if missing or extra:
                problem = f"missing input '{missing[0]}'" if missing else f"unexpected input '{extra[0]}'"
                raise PipelineError(
                    f"{problem} (step type '{spec.uses}' takes: {', '.join(required) or 'none'})",
                    file=source,
                    step=spec.name,
                    field="needs",
                )
        try:
            settings = substitute(spec.settings, values)
        except KeyError as exc:
            raise PipelineError(unknown_reference(exc.args[0], values), file=source, step=spec.name,
                                field="settings") from None
        try:
            kwargs = entry.type.validate_settings(settings)
        except ValidationError as exc:
            model = entry.type.settings_model
            where, message = validation_problem(exc, noun="setting", known=list(model.model_fields) if model else ())
            raise StepSettingsError(
                message, file=source, step=spec.name, field=f"settings.{where}" if where else "settings"
            ) from None
        except (StepSettingsError, PipelineError):
            raise
        except KernelError as exc:  # a step type by reference, without a settings model, that cannot be imported
            raise PipelineError(f"plugin '{entry.plugin}': {exc.message}", file=source, step=spec.name,
                                field="uses") from None
        resolved[spec.name] = (entry, kwargs, inputs)

    if not nx.is_directed_acyclic_graph(graph):
        cycle = [edge[0] for edge in nx.find_cycle(graph)]
        raise PipelineError(f"the steps form a cycle: {' -> '.join([*cycle, cycle[0]])}", file=source)

    claims = {name: _claims(name, entry.type, kwargs) for name, (entry, kwargs, _) in resolved.items()}
    _check_claims([c for found in claims.values() for c in found], source)
    for name, (entry, kwargs, _) in resolved.items():
        if specs[name].partitions is not None:
            specs[name] = _resolve_partitions(specs[name], values, source)
        if specs[name].partitions is not None:
            _check_partitions(specs[name], entry.type, kwargs, claims[name], source)
    position = {spec.name: i for i, spec in enumerate(pipeline.steps)}
    order = nx.lexicographical_topological_sort(graph, key=position.__getitem__)
    steps: dict[str, PlannedStep] = {}
    for index, name in enumerate(order):
        entry, kwargs, inputs = resolved[name]
        steps[name] = PlannedStep(
            spec=specs[name],
            type=entry.type,
            plugin=entry.plugin,
            kwargs=kwargs,
            inputs=inputs,
            index=index,
            producers=tuple(dict.fromkeys(p for p, _ in inputs.values())),
            reads=tuple(dict.fromkeys(inputs.values())),
            consumers=tuple(sorted(graph.successors(name), key=position.__getitem__)),
            claims=claims[name],
            fields=MappingProxyType(step_fields[name]),
        )
    return Plan(pipeline=pipeline, graph=graph, steps=steps, fields=MappingProxyType(pipeline_fields))


def _resolve_partitions(spec: StepSpec, values: Mapping[str, Any], source: Path | None) -> StepSpec:
    """The step with its number of parts as a number (a parameter substituted); run whole for 1."""
    assert spec.partitions is not None
    count: Any = spec.partitions.count
    if isinstance(count, str):
        try:
            count = substitute(count, values)
        except KeyError as exc:
            raise PipelineError(unknown_reference(exc.args[0], values), file=source, step=spec.name,
                                field="partitions.count") from None
    try:
        number = int(count)
        if isinstance(count, bool) or str(count).strip() != str(number) or not 1 <= number <= MAX_PARTITIONS:
            raise ValueError
    except (TypeError, ValueError):
        raise PipelineError(f"{count!r} is not a number of parts from 1 to {MAX_PARTITIONS}", file=source,
                            step=spec.name, field="partitions.count") from None
    parts = None if number == 1 else spec.partitions.model_copy(update={"count": number})
    return spec.model_copy(update={"partitions": parts})


def _check_partitions(
    spec: StepSpec, step_type: StepType, kwargs: Mapping[str, Any], claims: tuple[Claim, ...], source: Path | None
) -> None:
    """A step may run in partitions only if its type says so, by keys it allows, and writes no claimed path."""
    assert spec.partitions is not None
    if not spec.partitions.by:
        if step_type.split is None:
            raise PipelineError(
                f"step type '{step_type.name}' does not split its files: name the key columns (partitions.by)",
                file=source, step=spec.name, field="partitions.by",
            )
    elif not step_type.partitions:
        raise PipelineError(
            f"step type '{step_type.name}' cannot run in partitions", file=source, step=spec.name, field="partitions"
        )
    if claims:
        raise PipelineError(
            f"a step that writes {claims[0].path} (settings.{claims[0].setting}) runs whole, not in partitions",
            file=source,
            step=spec.name,
            field="partitions",
        )
    if isinstance(step_type.partitions, str | tuple):
        if isinstance(step_type.partitions, str):
            allowed = [str(c) for c in kwargs.get(step_type.partitions) or ()]
            where = f"settings.{step_type.partitions}"
        else:
            allowed, where = list(step_type.partitions), f"the key columns {step_type.name} allows"
        for column in spec.partitions.by:
            if column not in allowed:
                raise PipelineError(
                    f"'{column}' is not one of {where} ({', '.join(allowed) or 'none'})",
                    file=source,
                    step=spec.name,
                    field="partitions.by",
                )


def _claims(name: str, step_type: StepType, kwargs: Mapping[str, Any]) -> tuple[Claim, ...]:
    found = []
    for setting in step_type.claims:
        value = kwargs.get(setting)
        if value is not None and str(value) != "":
            found.append(Claim(name, setting, Path(str(value))))
    return tuple(found)


def _check_claims(claims: list[Claim], source: Path | None) -> None:
    """Two steps of one run may not write the same path, nor one inside the other's."""
    for i, a in enumerate(claims):
        for b in claims[i + 1 :]:
            if overlaps(a.real, b.real):
                how = "the same path" if a.real == b.real else "paths inside one another"
                raise PipelineError(
                    f"{a.describe()} and {b.describe()} write {how} ({a.path}, {b.path}); each needs a path of its own",
                    file=source,
                    step=b.step,
                    field=f"settings.{b.setting}",
                )


def topology(graph: nx.DiGraph[str]) -> str:
    """Name the shape of a DAG; see ``docs/architecture.md`` for the definitions."""
    import networkx as nx

    n = graph.number_of_nodes()
    if n <= 1:
        return "linear"
    ins = [d for _, d in graph.in_degree()]
    outs = [d for _, d in graph.out_degree()]
    components = list(nx.weakly_connected_components(graph))
    if len(components) > 1:
        if all(topology(graph.subgraph(c)) == "linear" for c in components):
            return "parallel"
        return "general"
    sources = ins.count(0)
    sinks = outs.count(0)
    if max(ins) <= 1 and max(outs) <= 1:
        return "linear"
    if max(ins) <= 1 and sources == 1:
        return "fan-out"
    if max(outs) <= 1 and sinks == 1:
        return "fan-in"
    if sources == 1 and sinks == 1:
        return "diamond"
    return "general"


def _node_id(name: str) -> str:
    return "s_" + "".join(c if c.isalnum() else "_" for c in name)


def to_mermaid(plan: Plan) -> str:
    lines = ["flowchart LR"]
    for name, planned in plan.steps.items():
        label = f"{name}<br/>{planned.spec.uses}".replace('"', "'")
        lines.append(f'    {_node_id(name)}["{label}"]')
    for name, planned in plan.steps.items():
        for producer, output in planned.inputs.values():
            lines.append(f"    {_node_id(producer)} -->|{output}| {_node_id(name)}")
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"digraph {quote(plan.pipeline.name)} {{", "    rankdir=LR;"]
    for name, planned in plan.steps.items():
        lines.append(f"    {quote(name)} [label={quote(name + chr(10) + planned.spec.uses)}];")
    for name, planned in plan.steps.items():
        for producer, output in planned.inputs.values():
            lines.append(f"    {quote(producer)} -> {quote(name)} [label={quote(output)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
