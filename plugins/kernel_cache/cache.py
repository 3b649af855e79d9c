"""The step cache of one run: keys, the answer before a step, what is stored after it (docs/cache.md).

A step's key is made of its step type's code identity, its settings as the pipeline file gives them (each
run's own id and directory left as ``${run.id}`` and ``${run.dir}``), and the fingerprints of the frames it
is given. An entry under that key holds the fingerprints of what the step returned and the files it read
and wrote, with their content hashes. A step is reused only when an entry has its key, every file it read
is unchanged, and every file it wrote is still as it left it; otherwise it runs, and ``run.json`` says why.
"""

from __future__ import annotations

import functools
import hashlib
import os
import weakref
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from kernel import DatasetIO, Judged, ObservationFailed, Recompute, Reused, Run, StepContext, StepSpec, events
from kernel_cache import threads
from kernel_cache.fingerprint import Unfingerprintable, canonical, combine, digests, frame_fingerprint, path_hash
from kernel_cache.identity import code_identity
from kernel_cache.plugin import cache_dir
from kernel_cache.store import CacheStore, StoredCopyDiffers

RUN_DIR = "${run.dir}"
_GLOB = set("*?[")


@dataclass(frozen=True, slots=True)
class Observed:
    """What the cache's observer found next to a step: output fingerprints and the files the step touched."""

    fingerprints: Mapping[str, str]
    problems: Mapping[str, str]  # output -> why it has no fingerprint, or could not be stored
    files: tuple[tuple[str, str, str, str], ...]  # (mode, path, format, content hash)
    # Outputs being stored by the writer thread (only where the run's process observed the step).
    pending: tuple[Future[None], ...] = ()


def writer() -> ThreadPoolExecutor:
    """This process's cache writer: one thread, so jobs are done in the order they were given.

    Compressing and writing a step's outputs (about a second for the flagship's three 3-million-row frames)
    happens while the next steps compute; a step's entry is queued after its frames, so no entry ever names
    a frame that is not yet in place.
    """
    return threads.pool("writer", 1, beside=True)


def drain(sender: Run, **_: object) -> None:
    """At the end of a run: wait until what it queued for the cache writer is written; an entry that could
    not be written is this listener's error (recorded in run.json), as it was when written inline."""
    made = threads.made("writer")
    if made is None:
        return
    made.submit(lambda: None).result()
    found = sender.stash.get("cache")
    writing = found.writing if isinstance(found, RunCache) else []
    failed = next((f.exception() for f in writing if f.exception() is not None), None)
    writing.clear()
    if failed is not None:
        raise failed


def observe(
    root: str, store: bool, listed: tuple[str, ...], outputs: Mapping[str, pd.DataFrame], ctx: StepContext | None,
    owner: int = 0,
) -> Observed:
    """Fingerprint (and store, when the step has a key) every output; hash what the step read and wrote.

    In the run's own process (``owner``) the frames are stored by the writer thread; in a worker process
    they are stored before the step's result goes back.
    """
    cache = CacheStore(Path(root))
    fingerprints: dict[str, str] = {}
    problems: dict[str, str] = {}
    pending: list[Future[None]] = []
    background = os.getpid() == owner
    for name, frame in outputs.items():
        try:
            parts = digests(frame)
        except Unfingerprintable as exc:
            problems[name] = str(exc)
            continue
        fingerprint = fingerprints[name] = combine(parts)
        if store and background:
            pending.append(writer().submit(cache.put_handed, [frame].pop, fingerprint, parts))  # let go as written
        elif store:
            try:
                cache.put_frame(frame, fingerprint, parts)
            except Exception as exc:  # a column Arrow cannot hold: the step is not stored, its consumers still keyed
                problems[name] = f"could not be stored: {type(exc).__name__}: {exc}"
    files: list[tuple[str, str, str, str]] = []
    for d in ctx.datasets if ctx is not None else ():
        files.append((d.mode, d.path, d.format, d.content_hash or path_hash(d.path)))
    reported = {os.path.abspath(f[1]) for f in files}
    # A directory a setting names is listed from the hashes of the files the step reported reading there.
    read = {os.path.realpath(path): digest for mode, path, _, digest in files if mode == "read" and digest != "missing"}
    for path in listed:
        if os.path.abspath(path) not in reported:
            files.append(("read", path, "setting", path_hash(path, read)))
    return Observed(fingerprints, problems, tuple(files), tuple(pending))


@dataclass
class RunCache:
    """The cache's state for one run (``run.stash``)."""

    store: CacheStore
    # (step, output) -> fingerprint of the frame its consumers are given, or why there is none
    served: dict[tuple[str, str], str] = field(default_factory=dict)
    unknown: dict[tuple[str, str], str] = field(default_factory=dict)
    keys: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    hits: dict[str, Mapping[str, str]] = field(default_factory=dict)  # step -> stored output fingerprints
    runs: set[str] = field(default_factory=set)  # a forecast: the steps that would run
    # Frames read back in this run, by fingerprint: an output that passes another step's on is read once.
    # Held weakly: the runner lets go of outputs no step needs any more.
    loaded: weakref.WeakValueDictionary[str, pd.DataFrame] = field(default_factory=weakref.WeakValueDictionary)
    writing: list[Future[None]] = field(default_factory=list)  # entries queued for the writer


def state(run: Run) -> RunCache:
    found = run.stash.get("cache")
    if not isinstance(found, RunCache):
        found = run.stash["cache"] = RunCache(CacheStore(cache_dir(run.runs_root)))
    return found


def _mask(path: str, run: Run) -> str:
    """A file's path with the run's directory written as ``${run.dir}`` (a short run id may well be part of
    a file's name: only the directory is taken for the run's)."""
    for directory in {str(run.run_dir), os.path.abspath(run.run_dir)}:
        path = path.replace(directory, RUN_DIR)
    return path


def _unmask(path: str, run: Run) -> str:
    return path.replace(RUN_DIR, str(run.run_dir))


def components(run: Run, name: str, cache: RunCache) -> dict[str, Any]:
    """What the key of step ``name`` is made of; :class:`Unfingerprintable` with the reason when a part
    cannot be known."""
    planned = run.plan.steps[name]
    try:
        code = code_identity(planned.type, _origin(run, planned.plugin))
    except Unfingerprintable as exc:
        raise Unfingerprintable(f"the code of {planned.type.name} cannot be fingerprinted: {exc}") from None
    # As the file gives them, parameters substituted and ${run.id} / ${run.dir} not: they are each run's own.
    settings = canonical(dict(planned.spec.settings), "settings")
    inputs: dict[str, str] = {}
    for key, (producer, output) in planned.inputs.items():
        fingerprint = cache.served.get((producer, output))
        if fingerprint is None:
            why = cache.unknown.get((producer, output), "it was not fingerprinted")
            raise Unfingerprintable(f"input {key} ({producer}.{output}) has no fingerprint: {why}")
        inputs[key] = fingerprint
    return {"uses": planned.type.name, "code": code, "settings": settings, "inputs": inputs}


def _origin(run: Run, plugin: str) -> str:
    """The distribution and version of the plugin that registered a step type (``""``: not installed)."""
    pm = run.plugin_manager
    found = pm.get_plugin(plugin) if pm is not None else None
    for registered, dist in pm.list_plugin_distinfo() if pm is not None and found is not None else ():
        if registered is found:
            return f"{dist.project_name} {dist.version}"
    return ""


def key_of(parts: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _decide(run: Run, name: str, refresh: bool) -> tuple[str, dict[str, Any]] | Recompute:
    """The step's key and the entry that may answer for it, or why there is none."""
    cache = state(run)
    try:
        parts = components(run, name, cache)
    except Unfingerprintable as exc:
        return Recompute(str(exc))
    key = key_of(parts)
    cache.keys[name] = (key, parts)
    if refresh:
        return Recompute("refreshed (--refresh or --no-cache)", key)
    entry = cache.store.get_entry(key)
    if entry is None:
        needs = {k: f"{p}.{o}" for k, (p, o) in run.plan.steps[name].inputs.items()}
        return Recompute(why_missing(cache.store, run.pipeline.name, name, parts, needs), key)
    stale = stale_files(entry, run)
    if stale:
        return Recompute(stale, key)
    return key, entry


def lookup(run: Run, step: StepSpec, refresh: bool, given: str | None = None) -> Reused | Recompute:
    """The stored outputs of ``step`` (under its key, or under ``given``: another run's key for it, taken
    as it is), or why it must run."""
    cache = state(run)
    name = step.name
    if given is not None:
        stored = cache.store.get_entry(given)
        if stored is None:
            return Recompute("the outputs that run stored for it are no longer in the cache", given)
        decided: tuple[str, dict[str, Any]] | Recompute = (given, stored)
    else:
        decided = _decide(run, name, refresh)
    if isinstance(decided, Recompute):
        return decided
    key, entry = decided
    outputs: dict[str, pd.DataFrame] = {}
    for output, fingerprint in entry["outputs"].items():
        try:
            found = cache.loaded.get(fingerprint)
            if found is None:
                found = cache.loaded[fingerprint] = cache.store.get_frame(fingerprint)
            outputs[output] = found
        except FileNotFoundError:
            return Recompute(f"output {output} is no longer in the cache", key)
        except Exception as exc:  # damaged, or a dtype Arrow does not keep: stored again by this run
            cache.store.drop_frame(fingerprint)
            why = exc if isinstance(exc, StoredCopyDiffers) else f"could not be read back: {type(exc).__name__}: {exc}"
            return Recompute(f"output {output}: {why}", key)
    cache.store.touch(key)
    cache.hits[name] = dict(entry["outputs"])
    datasets = tuple(
        DatasetIO(mode, _unmask(path, run), fmt, content_hash=digest)
        for mode, path, fmt, digest in entry["files"]
        if fmt != "setting"
    )
    return Reused(outputs, key, datasets, entry.get("duration_s"))


def forecast(run: Run, step: StepSpec, refresh: bool) -> Reused | Recompute:
    """What :func:`lookup` would answer, from the entries alone (nothing loaded). A reused step's outputs are
    taken to be what its entry says (a judge that would now replace them is not foreseen)."""
    cache = state(run)
    name = step.name
    planned = run.plan.steps[name]
    running = [p for p, _ in planned.inputs.values() if p in cache.runs]
    if running:
        cache.runs.add(name)
        return Recompute(f"after {', '.join(sorted(set(running)))}, which run{'s' if len(set(running)) == 1 else ''}:"
                         " known once that has run")
    answer = _decide(run, name, refresh)
    if isinstance(answer, Recompute):
        cache.runs.add(name)
        return answer
    key, entry = answer
    missing = [o for o, fp in entry["outputs"].items() if not cache.store.object_path(fp).exists()]
    if missing:
        cache.runs.add(name)
        return Recompute(f"output {missing[0]} is no longer in the cache", key)
    for output, fingerprint in entry["outputs"].items():
        cache.served[(name, output)] = fingerprint
    return Reused({}, key, (), entry.get("duration_s"))


def stale_files(entry: Mapping[str, Any], run: Run) -> str | None:
    """Why an entry's files no longer fit: a file it read changed, one it wrote was changed or removed."""
    writes = 0
    for mode, path, _fmt, digest in entry["files"]:
        where = _unmask(path, run)
        now = path_hash(where)
        if mode == "write":
            writes += 1
            if path.startswith(RUN_DIR) and now == "missing":
                return f"it writes {path[len(RUN_DIR):].lstrip('/')} into the run's own directory"
            if now != digest:
                return f"{where}, which it wrote, is {'gone' if now == 'missing' else 'changed'}"
        elif now != digest:
            return f"{where}, which it read, {'is gone' if now == 'missing' else 'changed'}"
    if entry.get("effects") and not writes:
        return "it has effects besides its outputs that it does not report, so they cannot be checked"
    return None


def why_missing(
    store: CacheStore, pipeline: str, name: str, parts: Mapping[str, Any], needs: Mapping[str, str]
) -> str:
    """The differences from the last key stored for this step: what changed since it was stored."""
    last = store.last_entry(pipeline, name)
    if last is None:
        return "not in the cache"
    old = last.get("components", {})
    if old.get("uses") != parts["uses"]:
        return f"step type changed ({old.get('uses')} -> {parts['uses']})"
    reasons = []
    if old.get("code") != parts["code"]:
        reasons.append(f"code of {parts['uses']} changed")
    reasons += [f"{path} changed" for path in _differences(old.get("settings"), parts["settings"], "settings")]
    for key in sorted(set(old.get("inputs", {})) | set(parts["inputs"])):
        if old.get("inputs", {}).get(key) != parts["inputs"].get(key):
            reasons.append(f"input {key} ({needs[key]}) changed" if key in needs else f"input {key} changed")
    if not reasons:
        return "not in the cache (its entry was removed)"
    if len(reasons) > 4:
        reasons = [*reasons[:4], f"{len(reasons) - 4} more"]
    return "; ".join(reasons)


def _differences(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            found += _differences(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}.{key}")
        return found
    return [] if old == new else [path]


_ABSENT = object()


def completed(run: Run, event: events.StepCompleted) -> None:
    """After a step (run or reused): note what its consumers are given; store the entry of a step that ran."""
    cache = state(run)
    name = event.step.name
    observed = next((v for v in event.observed.values() if isinstance(v, Observed | ObservationFailed)), None)
    raw: Mapping[str, str]
    problems: Mapping[str, str] = {}
    if event.cached:
        raw = cache.hits.get(name, {})
    elif isinstance(observed, Observed):
        raw, problems = observed.fingerprints, observed.problems
    else:
        why = observed.error if isinstance(observed, ObservationFailed) else "the cache did not observe it"
        raw, problems = {}, dict.fromkeys(event.outputs, why)
    again = next((v for v in event.summaries.values() if isinstance(v, Served)), None)
    for output in event.outputs:
        fingerprint: str | None = raw.get(output)
        if output in event.replaced:  # a judge changed it: the consumers get something else
            if again is not None and output in again.fingerprints:  # fingerprinted next to the step
                fingerprint = again.fingerprints[output]
            elif again is not None and output in again.problems:
                fingerprint, problems = None, {**problems, output: again.problems[output]}
            else:  # replaced here, by an after_step_run hook
                try:
                    fingerprint = frame_fingerprint(event.outputs[output])
                except Unfingerprintable as exc:
                    fingerprint, problems = None, {**problems, output: str(exc)}
        if fingerprint is None:
            cache.unknown[(name, output)] = problems.get(output, "it was not fingerprinted")
        else:
            cache.served[(name, output)] = fingerprint
    keyed = cache.keys.get(name)
    if event.cached or keyed is None or not isinstance(observed, Observed) or observed.problems:
        return
    key, parts = keyed
    planned = run.plan.steps[name]
    entry = {
        "pipeline": run.pipeline.name,
        "step": name,
        "components": parts,
        "outputs": dict(observed.fingerprints),
        "files": [[mode, _mask(path, run), fmt, digest] for mode, path, fmt, digest in observed.files],
        "effects": planned.type.effects or bool(planned.claims),
        "duration_s": event.duration_s,
        "run_id": run.run_id,
        "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if observed.pending:  # after the step's frames, in the writer's order
        cache.writing.append(writer().submit(_entry_after, cache.store, key, entry, observed.pending))
    else:
        cache.store.put_entry(key, entry)


def _entry_after(store: CacheStore, key: str, entry: Mapping[str, Any], frames: tuple[Future[None], ...]) -> None:
    """Write a step's entry once its frames are stored; none if one could not be (a column Arrow cannot hold):
    the step then runs again next time, as it would had it been stored inline."""
    if all(frame.exception() is None for frame in frames):
        store.put_entry(key, entry)


@dataclass(frozen=True, slots=True)
class Served:
    """Fingerprints of the outputs a judge replaced next to a step: what its consumers are given."""

    fingerprints: Mapping[str, str]
    problems: Mapping[str, str]


def served(outputs: Judged, ctx: StepContext | None) -> Served | None:
    """Next to a step, after its judges: fingerprint the outputs they replaced (the others were observed)."""
    if not outputs.replaced:
        return None
    fingerprints: dict[str, str] = {}
    problems: dict[str, str] = {}
    for name in outputs.replaced:
        try:
            fingerprints[name] = frame_fingerprint(outputs[name])
        except Unfingerprintable as exc:
            problems[name] = str(exc)
    return Served(fingerprints, problems)


def observer_for(run: Run, step: StepSpec) -> functools.partial[Observed]:
    cache = state(run)
    planned = run.plan.steps[step.name]
    claimed = {str(claim.path) for claim in planned.claims}
    own = os.path.abspath(run.run_dir)  # the run's own files are no input: they differ in every run
    listed = tuple(sorted({
        v for v in _strings(planned.kwargs)
        if _names_files(v) and v not in claimed and os.path.commonpath([own, os.path.abspath(v)]) != own
    }))
    return functools.partial(observe, str(cache.store.root), step.name in cache.keys, listed, owner=os.getpid())


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _names_files(value: str) -> bool:
    """A setting that names a file, a directory or a glob: what is there is an input of the step, whatever
    the step reports (a new file in a directory it reads, a file it reads without saying so)."""
    if not value or len(value) > 4096 or "\n" in value:
        return False
    return (bool(_GLOB & set(value)) and "/" in value) or os.path.exists(value)
