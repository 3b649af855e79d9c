"""The runner: executes a plan, step by step or several at once, and sends the lifecycle signals.

Steps run in worker threads (or inline with one worker); the orchestrating thread alone calls
hooks, sends signals and updates the run record. It collects finished attempts in the order it
started them, so the signals come in the same order on every run, whatever the thread timing.

A run is a transaction over the paths it claims: it locks them before anything is written, and the
writes its steps stage become final together, only once every step has succeeded (``commit_staged``).
A failed, interrupted or killed run leaves them as they were.
"""

from __future__ import annotations

import gc
import heapq
import logging
import pickle
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import networkx as nx
import pandas as pd
import pluggy
from blinker import NamedSignal

from kernel import events, signals
from kernel.attempt import (
    EMPTY,
    KeptHead,
    NextTo,
    Outcome,
    attempt,
    attempt_kept,
    call_each,
    merge_kept,
    next_to,
    outputs_of,
    part_kept,
    split_kept,
)
from kernel.context import Frames, Run, RunResult, StepVerdict
from kernel.errors import DataError, KernelError, PluginError
from kernel.executors import BUILT_IN, INLINE, ExecutorType
from kernel.graph import Plan, PlannedStep
from kernel.hooks import PluginHook, per_plugin
from kernel.interrupts import SignalGuard, stop_reason
from kernel.kept import FrameSummary, Keeper, KeptFrame
from kernel.locks import Holder, PathLock
from kernel.logs import get_logger
from kernel.partitions import combined, split
from kernel.prepare import check_claims, claim_run_dir, lock_claims, release, unclaim_run_dir
from kernel.record import (
    BLOCKED,
    FAILED,
    INTERRUPTED,
    NOT_SELECTED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    ListenerError,
    ListenerTime,
    RecordWriter,
    RunRecord,
    StagedRecord,
    StepRecord,
    iso,
)
from kernel.reuse import Judged, Judgement, Recompute, Reused
from kernel.selection import Selection, needed
from kernel.startup import resume_collector
from kernel.state import KIND as STATE_KIND
from kernel.state import recover_claimed, settle
from kernel.steps import DatasetIO, HandedInputs, Staged, StepContext
from kernel.tracebacks import Trace, trace_of

# A worker's future (of an outcome, or of a kept attempt's head), or (run inline) the outcome itself, or
# the outputs a plugin reused for the step.
_Pending = Future[Any] | Outcome | Reused

def _debug_enabled(log: Any) -> bool:
    check = getattr(log, "is_enabled_for", None)
    if check is None:  # not a filtering logger: it keeps everything
        return True
    try:
        return bool(check(logging.DEBUG))
    except Exception:
        return True


_freeze_lock = threading.Lock()
_freeze_depth = 0
_freeze_ours = False


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects that exist before a run out of the garbage collector's passes while it runs.

    A full collection visits every tracked object in the process (pandas and its kin bring some
    200,000): on a long run it cost more than the kernel itself. Objects made during the run are
    collected as usual. A process that froze its heap itself (say, before forking) is left alone.
    """
    global _freeze_depth, _freeze_ours
    with _freeze_lock:
        if _freeze_depth == 0:
            _freeze_ours = gc.get_freeze_count() == 0
            if _freeze_ours:
                gc.freeze()
        resume_collector()  # paused by the command line while it imported (kernel/startup.py)
        _freeze_depth += 1
    try:
        yield
    finally:
        with _freeze_lock:
            _freeze_depth -= 1
            if _freeze_depth == 0 and _freeze_ours:
                gc.unfreeze()


class Runner:
    """Executes one plan once. Make a new runner for every run.

    :meth:`prepare` locks what the run writes, lets plugins recover and check it, and claims the run
    directory; :meth:`execute` runs the steps (preparing first if that was not done). Use the runner as
    a context manager, or call :meth:`release`, so its locks are released whatever happens.
    """

    def __init__(
        self,
        plan: Plan,
        pm: pluggy.PluginManager,
        *,
        run_id: str,
        run_dir: Path,
        workers: int = 1,
        fail_fast: bool = False,
        keep_outputs: bool = False,
        executor: ExecutorType | None = None,
        address: str | None = None,
        refresh: Iterable[str] | bool = (),
        runs_root: Path | None = None,
        resumes: RunRecord | None = None,
        selection: Selection | None = None,
        inputs_from: RunRecord | None = None,
        given: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.given = _given(plan, given or {})
        self.plan = plan
        self.pm = pm
        self.workers = workers
        # Without a choice: one worker runs inline, more are threads (as before executors could be chosen).
        self.executor = executor or BUILT_IN[INLINE if workers == 1 else "threads"]
        self.address = address
        self._pool: Executor | None = None
        self.fail_fast = fail_fast
        self.keep_outputs = keep_outputs
        self.refresh = _refreshed(plan, refresh)
        active = [name for name, plugin in pm.list_name_plugin() if plugin is not None]
        record = RunRecord(
            run_id=run_id,
            pipeline=plan.pipeline.name,
            run_dir=str(run_dir),
            params=plan.pipeline.values,
            workers=workers,
            executor=self.executor.name,
            plugins=sorted(active),
        )
        self.resumes = resumes
        # A partial run: the steps chosen, those it takes from the cache for them, the others left out.
        chosen = selection.chosen(plan) if selection is not None else frozenset(plan.steps)
        self.reuse_only = needed(plan, chosen, frozenset(self.given))
        self.active = chosen | self.reuse_only
        self.inputs_from = inputs_from
        if selection is not None:
            record.selection = selection.as_record()
        if resumes is not None:
            earlier = {"status": resumes.status, "started_at": resumes.started_at,
                       "finished_at": resumes.finished_at, "error": resumes.error}
            record.resumed = [*resumes.resumed, earlier]
        for name, planned in plan.steps.items():
            needs = {key: f"{producer}.{output}" for key, (producer, output) in planned.inputs.items()}
            record.steps[name] = StepRecord(name=name, uses=planned.spec.uses, plugin=planned.plugin, needs=needs)
            if name not in self.active:
                record.steps[name].status = NOT_SELECTED
        self.record = record
        self.run = Run(plan, run_id, run_dir, record, pm, runs_root=runs_root)
        self.log = get_logger("kernel.run").bind(run_id=run_id, pipeline=plan.pipeline.name)
        self._debug = True  # whether debug lines are kept; known once the run starts (logging may be configured late)
        self._writer = RecordWriter(record, run_dir / "run.json")
        self._outputs: dict[str, Frames] = {}
        self._readers: Counter[tuple[str, str]] = Counter()
        self._hands = False
        self._judges: list[PluginHook] = []
        self._reusers: list[PluginHook] = []
        self._observing: list[PluginHook] = []
        self._judging: list[PluginHook] = []
        self._summarizing: list[PluginHook] = []
        self._near: dict[str, NextTo] = {}
        self._keeper: Keeper | None = None  # the executor, when it keeps frames on its workers
        self._refs: dict[str, dict[str, Any]] = {}  # step -> output -> the reference of a kept attempt in flight
        self._hooked: dict[NamedSignal, tuple[Callable[..., Any], ...]] = {}
        self._timers: dict[Any, ListenerTime] = {}
        self._t0 = time.perf_counter()  # the run's start on the monotonic clock; steps' start_s count from it
        self._epoch = time.time()  # the same moment on the wall clock
        self._data_error = False
        self._locks: list[PathLock] = []
        self._prepared = False
        self._staged: list[tuple[Staged, StagedRecord]] = []
        self._guard = SignalGuard()
        self._finalizing = False  # receivers' BaseExceptions are contained once the run is ending
        self._ended = False  # run.json written in full with the run's status

    # -- before the run ----------------------------------------------------------------------

    def prepare(self, *, wait: bool = False, on_wait: Callable[[PathLock, Holder | None], None] | None = None) -> None:
        """Lock the paths the steps claim, call ``before_run``, and claim the run directory.

        Raises a :class:`KernelError` (nothing written, no lock kept) when a path is locked by another run
        (unless ``wait``), when a plugin refuses the run, or when the run directory is already a run's.
        """
        if self._prepared:
            return
        run = self.run
        claims = check_claims(self.plan, run.run_dir)
        self._locks = lock_claims(
            claims, run_id=run.run_id, pipeline=self.plan.pipeline.name, wait=wait, on_wait=on_wait
        )
        try:
            recover_claimed(claim.path for claim in claims)  # the steps' state stores (kernel.StateStore)
            for hook in per_plugin(self.pm, "before_run"):
                try:
                    hook(run=run)
                except KernelError:
                    raise
                except Exception as exc:
                    raise PluginError(hook.plugin, f"before_run failed: {type(exc).__name__}: {exc}") from None
            if self.resumes is None:
                claim_run_dir(run.run_dir, run.run_id)
            else:  # the run's own directory again: no second resume of it at the same time
                lock = PathLock(run.run_dir, Holder.this_process(run.run_id, self.plan.pipeline.name, "resuming it"))
                lock.acquire()
                self._locks.append(lock)
        except BaseException:
            release(self._locks)
            raise
        self._prepared = True

    def release(self) -> None:
        """Release the run's locks (done by :meth:`execute` once the run's writes are final)."""
        release(self._locks)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._prepared and self.record.started_at is None and self.resumes is None:
            unclaim_run_dir(self.run.run_dir)  # prepared but never started: leave nothing behind
        self.release()

    # -- hooks and signals -------------------------------------------------------------------

    def _send(self, signal: NamedSignal, event: Callable[..., object], counted: bool = False, **fields: Any) -> None:
        """Count the signal; build its payload and call the receivers only when there are any."""
        if not counted:
            self.record.signals[signal.name] += 1
        if signal.receivers or signal in self._hooked:
            self._deliver(signal, event(**fields))

    def _deliver(self, signal: NamedSignal, payload: object) -> None:
        """Call the plugins' receivers for this run, then the signal's own, one by one, timing each.

        A receiver that raises is logged and counted, and the next one is called. A ``KeyboardInterrupt``
        or ``SystemExit`` from a receiver stops the run (as Ctrl-C would), unless the run is already ending.
        """
        run = self.run
        receivers: Iterable[Callable[..., Any]] = self._hooked.get(signal, ())
        if signal.receivers:
            receivers = (*receivers, *signal.receivers_for(run))
        clock = time.perf_counter
        for receiver in receivers:
            start = clock()
            try:
                receiver(run, event=payload)
            except Exception as exc:
                self._listener_failed(signal, receiver, exc)
            except BaseException as exc:
                if not self._finalizing:
                    raise
                self._listener_failed(signal, receiver, exc)
            finally:
                timer = self._timers.get(receiver)
                if timer is None:
                    timer = self._timer(receiver)
                timer.calls += 1
                timer.seconds += clock() - start

    def _timer(self, receiver: object) -> ListenerTime:
        name = _receiver_name(receiver)
        timer = self.record.listeners.setdefault(name, ListenerTime())
        self._timers[receiver] = timer
        return timer

    def _listener_failed(self, signal: NamedSignal, receiver: object, exc: BaseException) -> None:
        name = _receiver_name(receiver)
        self.record.listener_errors.append(ListenerError(signal.name, name, f"{type(exc).__name__}: {exc}"))
        self.log.error("listener failed", signal=signal.name, receiver=name, error=str(exc))

    def _hook_listeners(self) -> dict[NamedSignal, tuple[Callable[..., Any], ...]]:
        """The receivers plugins return from ``connect_listeners``, by signal, in the order the hook returns them.

        The runner calls them itself, for this run only, and lets go of them when the run ends: nothing
        is connected to the signals, so nothing can outlive the run or reach another run.
        """
        hooked: dict[NamedSignal, list[Callable[..., Any]]] = {}
        for hook in per_plugin(self.pm, "connect_listeners"):
            returned = cast(Iterable[object] | None, hook(run=self.run))
            for item in returned or ():
                if not isinstance(item, signals.Listener) or item.signal not in signals.ALL:
                    raise PluginError(hook.plugin, f"connect_listeners returned {item!r}, not a Listener")
                hooked.setdefault(item.signal, []).append(item.receiver)
        return {signal: tuple(receivers) for signal, receivers in hooked.items()}

    # -- the run -----------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Run the plan. ``KeyboardInterrupt`` (SIGINT), SIGTERM and ``SystemExit`` end the run cleanly
        (staged writes discarded, ``pipeline_error`` sent, ``run.json`` status ``interrupted``) and are
        raised again once it has ended."""
        self.prepare()
        try:
            with _heap_frozen():
                return self._execute()
        finally:
            self.release()

    def _execute(self) -> RunResult:
        run, record = self.run, self.record
        # Bound now, not when the runner was made: the caller may have configured logging since.
        self.log = get_logger("kernel.run").bind(run_id=run.run_id, pipeline=self.plan.pipeline.name)
        started, t0 = datetime.now(UTC), time.perf_counter()
        self._epoch, self._t0 = started.timestamp(), t0
        self._judges = per_plugin(self.pm, "after_step_run")
        self._reusers = per_plugin(self.pm, "reuse_step")
        self._observing = per_plugin(self.pm, "observe_step")
        self._judging = per_plugin(self.pm, "judge_step")
        self._summarizing = per_plugin(self.pm, "summarize_step")
        self._debug = _debug_enabled(self.log)
        record.started_at = iso(started)
        self._writer.write()
        self._writer.start()
        guard = self._guard
        guard.install()
        error: BaseException | None = None
        try:
            try:
                self.log.info("run started", steps=len(self.plan.steps), workers=self.workers)
                self._open_pool()
                self._hooked = self._hook_listeners()
                self._send(
                    signals.pipeline_start,
                    events.PipelineStarted,
                    pipeline=self.plan.pipeline.name,
                    started_at=started,
                    steps=self.plan.order,
                    params=events.read_only(run.params),
                    workers=self.workers,
                )
                self._run_steps()
                if all(s.status in (SUCCEEDED, NOT_SELECTED) for s in record.steps.values()):
                    guard.phase = "committing"
                    self._commit()
            except BaseException as exc:  # an interrupt, or a plugin's broken hook: the run still ends
                guard.phase, error = "finalizing", exc
                self._stop(exc)
            guard.phase = "finalizing"
            self._finalizing = True
            self._writer.stop()  # before the full write: a late background write would shorten it
            self._end(t0)
        finally:
            self._close_pool(cancel=True)  # a no-op when the steps' loop closed it
            self._writer.stop()
            self._hooked = {}  # the plugins' receivers end with the run
            if not self._ended:
                self._finish_record()
            self.release()  # the run's writes are final: a waiting run may go on
            guard.phase = "after_run"
            try:
                self._after_run()
            finally:
                guard.phase = "done"
                guard.restore()
        if error is not None:
            raise error
        return RunResult(run=run, record=record, outputs=self._outputs)

    def _open_pool(self) -> None:
        """Start the executor (``None``: inline) before the first signal, so run.json names its dashboard."""
        self._pool = self.executor.make(self.workers, self.address)
        if isinstance(self._pool, Keeper):
            self._keeper = self._pool
            self.record.transfer = {"summaries": 0, "summary_bytes": 0, "frames_fetched": 0, "bytes_fetched": 0}
        dashboard = getattr(self._pool, "dashboard", None)
        if isinstance(dashboard, str) and dashboard:
            self.record.dashboard = dashboard
            self.log.info("executor started", executor=self.executor.name, dashboard=dashboard)

    def _close_pool(self, *, cancel: bool) -> None:
        pool, self._pool = self._pool, None
        self._keeper = None
        if pool is not None:  # cancel: a step still running in a worker is left to finish on its own
            pool.shutdown(wait=not cancel, cancel_futures=cancel)

    def _run_steps(self) -> None:
        try:
            self._schedule(self._pool)
            if self.keep_outputs and self._keeper is not None:  # the caller asked for the frames themselves
                for name, outputs in self._outputs.items():
                    self._outputs[name] = {k: _here(frame) for k, frame in outputs.items()}
        except BaseException:
            self._close_pool(cancel=True)
            raise
        self._close_pool(cancel=False)

    def _fetch(self, kept: KeptFrame) -> pd.DataFrame:
        """Bring a kept frame to this process, counting it (run.json's ``transfer``)."""
        if self._keeper is None:
            raise RuntimeError("the executor that kept this frame has ended")
        frame = cast(pd.DataFrame, self._keeper.fetch(kept.ref))
        transfer = self.record.transfer
        if transfer is not None:
            transfer["frames_fetched"] += 1
            transfer["bytes_fetched"] += kept.summary.nbytes
        return frame

    def _end(self, t0: float) -> None:
        """Set the run's status, write ``run.json`` in full, and send the last signal."""
        record = self.record
        if record.status == RUNNING:
            duration = time.perf_counter() - t0
            record.duration_s = duration
            record.finished_at = iso(datetime.now(UTC))
            failed = [s.name for s in record.steps.values() if s.status not in (SUCCEEDED, NOT_SELECTED)]
            if not failed and not any(s.status == FAILED for s in record.staged):
                record.status, record.exit_code = SUCCEEDED, 0
                self.log.info("run succeeded", duration_s=round(duration, 6))
            else:
                record.status, record.exit_code = FAILED, 2 if self._data_error else 1
                record.error = record.error or self._summary()
                self.log.error("run failed", duration_s=round(duration, 6), error=record.error)
        self._discard_all()
        final: NamedSignal = signals.pipeline_complete if record.status == SUCCEEDED else signals.pipeline_error
        # run.json is complete before the last signal, so its receivers can read it.
        record.signals[final.name] += 1
        written = self._write_final()
        self._ended = True
        duration_s = record.duration_s or 0.0
        errors = len(record.listener_errors)
        if final.receivers or final in self._hooked:  # the record's copy costs O(steps): only for a listener
            snapshot = record.copy() if written else record
            if final is signals.pipeline_complete:
                self._send(final, events.PipelineCompleted, counted=True, record=snapshot, duration_s=duration_s)
            else:
                self._send(
                    final,
                    events.PipelineErrored,
                    counted=True,
                    record=snapshot,
                    duration_s=duration_s,
                    error=record.error or "",
                )
        if len(record.listener_errors) != errors:  # after_run reads run.json with the last receivers' errors
            self._write_final()

    def _stop(self, exc: BaseException) -> None:
        """End a run that an interrupt or an unexpected error stopped half-way: nothing is left running."""
        self._finalizing = True
        record = self.record
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            reason, code = stop_reason(exc)
            record.status, record.exit_code = INTERRUPTED, code
        else:
            reason = f"{type(exc).__name__}: {exc}"
            record.status, record.exit_code = FAILED, 2 if isinstance(exc, KernelError) else 1
        record.error = reason
        record.duration_s = time.perf_counter() - self._t0
        record.finished_at = iso(datetime.now(UTC))
        self.log.error(f"run {record.status}" if record.status == INTERRUPTED else "run stopped", error=reason)
        for rec in record.steps.values():
            if rec.status == RUNNING:
                rec.status, rec.error = INTERRUPTED, reason
                rec.duration_s = time.perf_counter() - self._t0 - (rec.start_s or 0.0)
        for name, rec in record.steps.items():
            if rec.status == PENDING:
                rec.status, rec.skipped_because = SKIPPED, f"the run was {record.status}"
                self._send(
                    signals.step_skipped,
                    events.StepSkipped,
                    step=self.plan.steps[name].spec,
                    reason=rec.skipped_because,
                    cause=None,
                )

    def _write_final(self) -> bool:
        """Write ``run.json`` in full; a failure (a full disk) is logged and kept, never raised."""
        try:
            self._writer.write(final=True)
        except OSError as exc:
            self._writer.error = exc
            self.log.error("run.json could not be written", error=str(exc))
            return False
        return True

    def _finish_record(self) -> None:
        """Make sure ``run.json`` never says ``running`` once the run has ended."""
        if self.record.status == RUNNING:  # only when ending itself failed: say so
            self.record.status, self.record.exit_code = FAILED, 1
            self.record.error = self.record.error or "the run could not end normally"
        self._discard_all()
        self._write_final()

    def _after_run(self) -> None:
        record = self.record
        errors, artifacts = len(record.listener_errors), dict(record.artifacts)
        for hook in per_plugin(self.pm, "after_run"):
            name = f"{hook.plugin}.after_run"
            try:
                hook(run=self.run)
            except Exception as exc:
                record.listener_errors.append(ListenerError(hook.hook, name, f"{type(exc).__name__}: {exc}"))
                self.log.error("after_run hook failed", plugin=hook.plugin, error=str(exc))
            except (KeyboardInterrupt, SystemExit) as exc:  # a second Ctrl-C: stop making reports
                record.listener_errors.append(ListenerError(hook.hook, name, f"stopped: {stop_reason(exc)[0]}"))
                break
        if len(record.listener_errors) != errors or record.artifacts != artifacts:
            self._write_final()

    # -- staged writes -----------------------------------------------------------------------

    def _keep_staged(self, items: list[Staged]) -> None:
        for staged in items:
            rec = StagedRecord(staged.step, staged.kind)
            self.record.staged.append(rec)
            self._staged.append((staged, rec))

    def _commit(self) -> None:
        """Make every staged write final, in the order the steps finished; the first failure stops it."""
        commit = self.pm.hook.commit_staged
        while self._staged:
            staged, rec = self._staged.pop(0)
            try:
                if staged.kind == STATE_KIND:  # a step's state (kernel.state): the kernel's own
                    settle(staged.details, commit=True)
                elif not commit(run=self.run, staged=staged):
                    raise PluginError(
                        self.plan.steps[staged.step].plugin, f"no plugin commits staged writes of kind '{staged.kind}'"
                    )
            except Exception as exc:
                rec.status, rec.error = FAILED, f"{type(exc).__name__}: {exc}"
                self.record.error = f"step '{staged.step}': committing {staged.kind} failed: {rec.error}"
                self.log.error("commit failed", step=staged.step, kind=staged.kind, error=rec.error)
                return
            rec.status = "committed"
            self.log.info("committed", step=staged.step, kind=staged.kind)

    def _discard(self, items: Iterable[tuple[Staged, StagedRecord]]) -> None:
        discard = self.pm.hook.discard_staged
        for staged, rec in items:
            try:
                if staged.kind == STATE_KIND:
                    settle(staged.details, commit=False)
                else:
                    discard(run=self.run, staged=staged)
                rec.status = "discarded"
            except Exception as exc:  # what is left is removed before the next run (recovery, before_run)
                rec.error = f"discarding failed: {type(exc).__name__}: {exc}"
                self.log.error("discarding a staged write failed", step=staged.step, kind=staged.kind, error=str(exc))

    def _discard_all(self) -> None:
        items, self._staged = self._staged, []
        self._discard(items)

    def _discard_attempt(self, ctx: StepContext | None) -> None:
        """What a failed attempt staged is thrown away at once (a retry stages its own)."""
        if ctx is not None and ctx.staged:
            records = [StagedRecord(s.step, s.kind) for s in ctx.staged]
            self.record.staged.extend(records)
            self._discard(zip(ctx.staged, records, strict=True))

    def _summary(self) -> str:
        bad = [s for s in self.record.steps.values() if s.status in (FAILED, BLOCKED)]
        if bad:
            return f"step '{bad[0].name}' {bad[0].status}: {bad[0].error}"
        return "steps were skipped"

    def _schedule(self, executor: Executor | None) -> None:
        # The hot loop of the kernel: its cost per step is what the overhead benchmark measures.
        plan, steps = self.plan, self.record.steps
        active = self.active
        # A step whose outputs are given waits for nothing.
        waiting = {name: 0 if name in self.given else len(p.producers) for name, p in plan.steps.items()}
        consumers = {name: sum(1 for c in p.consumers if c in active) for name, p in plan.steps.items()}
        sinks = {name for name, n in consumers.items() if n == 0}
        # (step, output) -> the steps still to read it: an output is dropped when its last reader is done,
        # even while the producer's other outputs are still needed
        self._readers = Counter(ref for name in active for ref in plan.steps[name].reads)
        # Whether a step is handed the frames it is the last to read (take_input, see _start): not when the run
        # keeps its outputs or workers keep the frames.
        self._hands = not self.keep_outputs and self._keeper is None
        # Ready steps start in plan order: a heap of positions in it (ints compare fastest).
        by_index = list(plan.steps.values())
        ready = [p.index for name, p in plan.steps.items() if waiting[name] == 0 and name in active]
        heapq.heapify(ready)
        in_flight: deque[tuple[PlannedStep, int, _Pending]] = deque()
        # Inline, a step runs as it starts: one at a time, whatever the number of workers says.
        stopping, workers, keep = False, self.workers if executor is not None else 1, self.keep_outputs
        while ready or in_flight:
            while ready and not stopping and len(in_flight) < workers:
                in_flight.append(self._start(by_index[heapq.heappop(ready)], executor))
            if not in_flight:
                break
            if executor is None:
                planned, attempt, pending = in_flight.popleft()
            else:  # whichever attempt finishes first; of several at once, the first in plan order
                planned, attempt, pending = _first_done(in_flight)
            reused: Reused | None = None
            name = planned.spec.name
            if isinstance(pending, Future):
                try:
                    done = pending.result()
                except Exception as exc:  # the attempt could not be sent or brought back (pickling, a lost worker)
                    done = (None, exc, None, None, EMPTY, EMPTY, ())
                if isinstance(done, KeptHead):
                    done = self._kept(planned, done)
                returned, error, ctx, trace, observed, summaries, judgements = done
                del done
            elif isinstance(pending, Reused):
                reused, returned, ctx, trace = pending, pending.outputs, None, None
                # Reused frames are here: their judges and summarizers run here too (not their observers).
                returned, error, _, _, observed, summaries, judgements = next_to(
                    self._near_of(planned), dict(pending.outputs), None
                )
            else:
                returned, error, ctx, trace, observed, summaries, judgements = pending
            outputs: Frames | None = None
            if error is None:
                declared = planned.type.outputs
                if type(returned) is pd.DataFrame and len(declared) == 1:  # the common case, inline
                    outputs = {declared[0]: returned}
                else:
                    try:
                        outputs = outputs_of(returned, declared, planned.plugin, planned.type.name)
                    except PluginError as exc:
                        error = exc
                if (
                    outputs is not None
                    and planned.spec.partitions is not None
                    and reused is None
                    and self._keeper is None
                    and name in self._near
                ):  # parts put together here: what runs next to the step runs on the whole
                    outputs, error, _, _, observed, summaries, judgements = next_to(self._near[name], outputs, ctx)
            if error is not None and attempt <= planned.spec.retries.attempts and not isinstance(error, DataError):
                self._discard_attempt(ctx)
                delay = planned.spec.retries.wait_before(attempt)
                steps[name].attempts = attempt + 1
                self.log.warning("step retry", step=name, attempt=attempt, error=str(error), delay_s=delay)
                self._send(
                    signals.step_retry,
                    events.StepRetrying,
                    step=planned.spec,
                    attempt=attempt,
                    error=error,
                    delay_s=delay,
                )
                in_flight.append((planned, attempt + 1, self._submit(executor, planned, self._inputs(planned), delay)))
                continue
            if outputs is not None and self._finish(
                planned, attempt, outputs, ctx, observed, reused, summaries, judgements
            ):
                for after in planned.consumers:
                    waiting[after] -= 1
                    if waiting[after] == 0 and steps[after].status == PENDING:
                        heapq.heappush(ready, plan.steps[after].index)
            else:
                if outputs is None:
                    self._fail(planned, attempt, error or RuntimeError("no outputs"), ctx, blocked=False, trace=trace)
                self._skip_downstream(name, consumers, sinks)
                if self.fail_fast or self._data_error:
                    stopping = True
            self._near.pop(name, None)  # the step is done: what ran next to it is no longer needed
            if not keep:
                self._release(planned, consumers, sinks)
            # Its frames go with the kernel's references, not once the next step (run inline as it starts) is done.
            del pending, returned, outputs, ctx, observed, summaries, judgements
        if stopping:
            for name, planned in plan.steps.items():
                if steps[name].status == "pending":
                    self._skip(planned, "the run stopped after a failure", None, consumers, sinks)

    def _inputs(self, planned: PlannedStep) -> Frames:
        return {key: self._outputs[producer][output] for key, (producer, output) in planned.inputs.items()}

    def _start(
        self, planned: PlannedStep, executor: Executor | None
    ) -> tuple[PlannedStep, int, _Pending]:
        rec = self.record.steps[planned.spec.name]
        rec.status, rec.attempts, rec.start_s = RUNNING, 1, time.perf_counter() - self._t0
        inputs: Frames = {}
        given = self.given.get(planned.spec.name)
        if planned.inputs and given is None:
            outputs, steps, rows_in = self._outputs, self.record.steps, rec.rows_in
            spec = planned.spec
            # Not handed over: a step that may be retried, runs in parts, or reads a frame under two names.
            hands = self._hands and spec.partitions is None and not spec.retries.attempts
            readers = self._readers if hands and len(planned.reads) == len(planned.inputs) else None
            handed: tuple[str, ...] = ()
            for key, ref in planned.inputs.items():
                producer, output = ref
                frames = outputs[producer]
                inputs[key] = frames[output]
                rows_in[key] = steps[producer].rows_out[output]
                if readers is not None and readers[ref] == 1:  # the last reader: handed over (take_input)
                    handed += (key,)
                    # a new mapping: the one a listener was given with step_complete stays as it was sent
                    outputs[producer] = {} if len(frames) == 1 else {k: v for k, v in frames.items() if k != output}
            del frames
            if handed:
                inputs = HandedInputs(inputs)
                inputs.handed = handed
        if given is not None:
            reused: Reused | None = given
        else:
            reused = self._reuse(planned, rec) if self._reusers else None
        if reused is not None:
            rec.attempts = 0
        if self._observing or self._judging or self._summarizing:
            near = self._near_for(planned, observe=reused is None)
            if near:
                self._near[planned.spec.name] = near
        # The two signals of every step skip the general path when nobody listens: they are the hot ones.
        self.record.signals["step_start"] += 1
        if signals.step_start.receivers or signals.step_start in self._hooked:
            payload = events.StepStarted(planned.spec, self._wall(rec.start_s), events.FrameViews(inputs))
            self._deliver(signals.step_start, payload)
        if reused is not None:
            return planned, 0, reused
        if planned.spec.name in self.reuse_only:  # left out of a partial run, and no cache can stand in for it
            return planned, 1, (None, self._unavailable(planned, rec), None, None, EMPTY, EMPTY, ())
        if (
            executor is None
            and not planned.type.wants_context
            and planned.spec.partitions is None
            and planned.spec.name not in self._near
        ):  # the common case
            try:
                return planned, 1, (planned.type.function(inputs, **planned.kwargs), None, None, None, EMPTY, EMPTY, ())
            except Exception as exc:
                return planned, 1, (None, exc, None, trace_of(exc, planned.type.function), EMPTY, EMPTY, ())
        return planned, 1, self._submit(executor, planned, inputs, 0.0)

    def _reuse(self, planned: PlannedStep, rec: StepRecord) -> Reused | None:
        """Ask the ``reuse_step`` hooks for the step; record their answer (a hit, or a miss and its reason)."""
        name = planned.spec.name
        key = None
        if self.inputs_from is not None and name in self.reuse_only:
            earlier = self.inputs_from.steps.get(name)
            key = earlier.cache_key if earlier is not None and earlier.status == SUCCEEDED else None
            if key is None:
                rec.cache, rec.cache_reason = "miss", f"run '{self.inputs_from.run_id}' has no stored outputs of it"
                return None
        for hook in self._reusers:
            try:
                answer = hook(run=self.run, step=planned.spec, refresh=name in self.refresh, key=key)
            except Exception as exc:
                answer = Recompute(f"plugin '{hook.plugin}' reuse_step failed: {type(exc).__name__}: {exc}")
                self.log.error("reuse_step failed", step=name, plugin=hook.plugin, error=str(exc))
            if answer is None:
                continue
            if isinstance(answer, Reused):
                try:
                    outputs_of(dict(answer.outputs), planned.type.outputs, planned.plugin, planned.type.name)
                except PluginError as exc:
                    why = f"plugin '{hook.plugin}' reused outputs that do not fit: {exc.message}"
                    answer = Recompute(why, answer.key)
                else:
                    rec.cache, rec.cache_key, rec.saved_s = "hit", answer.key, answer.saved_s
                    rec.datasets = list(answer.datasets)
                    return answer
            if isinstance(answer, Recompute):
                rec.cache, rec.cache_key, rec.cache_reason = "miss", answer.key, answer.reason
            else:
                rec.cache, rec.cache_reason = "miss", f"plugin '{hook.plugin}' reuse_step returned {answer!r}"
            return None
        return None

    def _unavailable(self, planned: PlannedStep, rec: StepRecord) -> DataError:
        """A step a partial run left out whose outputs a chosen step needs, and that no cache can give."""
        why = rec.cache_reason or "no plugin keeps step outputs (the cache plugin is off)"
        users = sorted(c for c in nx.descendants(self.plan.graph, planned.spec.name) if c in self.active)
        return DataError(
            f"not selected, but {', '.join(users)} need what it gives and the cache cannot give it ({why}): "
            "select it too, or run the whole pipeline once"
        )

    def explain(self) -> list[tuple[str, str, str]]:
        """The ``explain_step`` forecast of every step, in plan order; nothing is run or written."""
        found: list[tuple[str, str, str]] = []
        hooks = per_plugin(self.pm, "explain_step")
        for name, planned in self.plan.steps.items():
            if name not in self.active:
                found.append((name, "not selected", ""))
                continue
            answer = None
            for hook in hooks:
                answer = hook(run=self.run, step=planned.spec, refresh=name in self.refresh)
                if answer is not None:
                    break
            if isinstance(answer, Reused):
                took = f", ran {answer.saved_s:.3f} s" if answer.saved_s is not None else ""
                found.append((name, "reuse", f"key {answer.key[:12]}{took}"))
            elif name in self.reuse_only:
                why = answer.reason if isinstance(answer, Recompute) else "no plugin keeps step outputs"
                found.append((name, "missing", f"not selected and not reusable: {why}"))
            else:
                found.append((name, "run", answer.reason if isinstance(answer, Recompute) else "no cache"))
        return found

    def _near_for(self, planned: PlannedStep, *, observe: bool) -> NextTo:
        """The functions plugins give to run next to the step (observers only for a step that runs)."""
        found: dict[str, list[tuple[str, Any]]] = {"observe_step": [], "judge_step": [], "summarize_step": []}
        hooks = (self._observing if observe else []), self._judging, self._summarizing
        for group in hooks:
            for hook in group:
                function = hook(run=self.run, step=planned.spec)
                if function is not None:
                    if not callable(function):
                        raise PluginError(hook.plugin, f"{hook.hook} returned {function!r}, not a function")
                    found[hook.hook].append((hook.plugin, function))
        return NextTo(
            planned.type.outputs,
            planned.plugin,
            planned.type.name,
            tuple(found["observe_step"]),
            tuple(found["judge_step"]),
            tuple(found["summarize_step"]),
        )

    def _near_of(self, planned: PlannedStep) -> NextTo:
        """What runs next to the step (nothing but the check of its outputs, when no plugin gave anything)."""
        return self._near.get(planned.spec.name) or NextTo(planned.type.outputs, planned.plugin, planned.type.name)

    def _submit(
        self, executor: Executor | None, planned: PlannedStep, inputs: Frames, delay: float
    ) -> _Pending:
        parts = planned.spec.partitions
        if parts is not None and not parts.by:  # a reading step: each part reads some of the files
            try:
                settings = self._split_settings(planned, int(parts.count))
            except DataError as exc:
                return None, exc, None, None, EMPTY, EMPTY, ()
        if self._keeper is not None:
            if parts is not None and not parts.by:
                return self._submit_kept_files(self._keeper, planned, inputs, delay, settings)
            return self._submit_kept(self._keeper, planned, inputs, delay)
        if parts is None:
            return self._submit_one(executor, planned, inputs, delay)
        if parts.by:
            try:
                given, shared = planned.kwargs, planned.type.shared_function
                if shared is not None:  # what every part shares, from the whole inputs
                    given = {**given, **shared(MappingProxyType(inputs), MappingProxyType(given))}
                pieces = split(inputs, parts.by, int(parts.count))
            except Exception as exc:
                return None, exc, None, None, EMPTY, EMPTY, ()
            parts_pending = [self._submit_one(executor, planned, part, delay, given) for part in pieces]
        else:
            pieces = settings
            parts_pending = [self._submit_one(executor, planned, inputs, delay, given) for given in settings]
        self.record.steps[planned.spec.name].partitions = len(pieces)
        return cast(_Pending, combined(parts_pending, planned.type.combine_function))

    def _split_settings(self, planned: PlannedStep, count: int) -> list[dict[str, Any]]:
        """The settings of each part of a step that splits its files (its type's ``split``)."""
        split_settings = planned.type.split_function
        assert split_settings is not None
        try:
            found = split_settings(MappingProxyType(planned.kwargs), count)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"splitting its files failed: {type(exc).__name__}: {exc}") from None
        if not found or len(found) > count:
            raise DataError(f"splitting its files gave {len(found)} part(s), not 1 to {count}")
        return [dict(part) for part in found]

    def _kwargs(self, planned: PlannedStep, given: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        kwargs = planned.kwargs if given is None else given
        if not planned.type.wants_context:
            return kwargs
        ctx = StepContext(
            run_id=self.run.run_id,
            step=planned.spec.name,
            run_dir=self.run.run_dir,
            params=self.run.params,
            pipeline=self.plan.pipeline.name,
            reporter=None if self.executor.ships else self._reported,
        )
        return {**kwargs, "ctx": ctx}

    def _reported(self, step: str, done: int, total: int | None, unit: str) -> None:
        """A step's progress (from its thread): kept for whoever shows it, replaced as it comes."""
        self.run.progress[step] = (done, total, unit)

    def _submit_one(
        self,
        executor: Executor | None,
        planned: PlannedStep,
        inputs: Frames,
        delay: float,
        given: Mapping[str, Any] | None = None,
    ) -> _Pending:
        # A partitioned step's parts are put together first: what runs next to it runs on the whole.
        near = self._near.get(planned.spec.name) if planned.spec.partitions is None else None
        kwargs = self._kwargs(planned, given)
        if executor is None:
            return attempt(planned.type.function, inputs, kwargs, delay, False, near)
        return executor.submit(attempt, planned.type.function, inputs, kwargs, delay, self.executor.ships, near)

    def _submit_kept(self, keeper: Keeper, planned: PlannedStep, inputs: Frames, delay: float) -> Future[Any]:
        """Submit to an executor that keeps frames: inputs go as references, outputs stay where they are made."""
        name = planned.spec.name
        near = self._near_of(planned)
        given = {key: frame.ref if isinstance(frame, KeptFrame) else frame for key, frame in inputs.items()}
        kwargs, func, ships = self._kwargs(planned), planned.type.function, self.executor.ships
        outputs = len(near.declared)
        parts = planned.spec.partitions
        if parts is None:
            head, refs = keeper.submit_kept(attempt_kept, func, given, kwargs, delay, ships, near, outputs=outputs)
        else:
            count = int(parts.count)
            shared = planned.type.shared_function
            _, pieces = keeper.submit_kept(split_kept, given, parts.by, count, shared, planned.kwargs, outputs=count)
            ran = [
                keeper.submit_kept(part_kept, func, piece, kwargs, delay, ships, outputs=1)[1][0] for piece in pieces
            ]
            head, refs = keeper.submit_kept(merge_kept, ran, planned.type.combine_function, near, outputs=outputs)
        self._refs[name] = dict(zip(near.declared, refs, strict=True))
        return head

    def _submit_kept_files(
        self, keeper: Keeper, planned: PlannedStep, inputs: Frames, delay: float, settings: list[dict[str, Any]]
    ) -> Future[Any]:
        """A step that splits its files, on an executor that keeps frames: one task per part, one to merge."""
        name = planned.spec.name
        near = self._near_of(planned)
        given = {key: frame.ref if isinstance(frame, KeptFrame) else frame for key, frame in inputs.items()}
        func, ships = planned.type.function, self.executor.ships
        ran = [
            keeper.submit_kept(part_kept, func, (given, {}), self._kwargs(planned, part), delay, ships, outputs=1)[1][0]
            for part in settings
        ]
        combine = planned.type.combine_function
        head, refs = keeper.submit_kept(merge_kept, ran, combine, near, outputs=len(near.declared))
        self._refs[name] = dict(zip(near.declared, refs, strict=True))
        return head

    def _kept(self, planned: PlannedStep, head: KeptHead) -> Outcome:
        """A kept attempt's outcome with its outputs as kept frames (the summaries it sent, the references held)."""
        name = planned.spec.name
        refs = self._refs.pop(name, {})
        summaries, *rest = head.outcome
        transfer = self.record.transfer
        if transfer is not None:  # what came here instead of the frames (as pickled: about what travelled)
            transfer["summaries"] += 1
            transfer["summary_bytes"] += len(pickle.dumps(head, protocol=pickle.HIGHEST_PROTOCOL))
        if head.parts is not None:
            self.record.steps[name].partitions = head.parts
        if not isinstance(summaries, dict):
            return cast(Outcome, (None, *rest))
        fetch = self._fetch
        kept = {key: KeptFrame(refs[key], summary, fetch) for key, summary in summaries.items()
                if isinstance(summary, FrameSummary)}
        return cast(Outcome, (kept, *rest))

    def _wall(self, start_s: float | None) -> datetime:
        """The wall-clock time of a moment on the run's monotonic clock."""
        return datetime.fromtimestamp(self._epoch + (start_s or 0.0), UTC)

    def _judge(
        self, planned: PlannedStep, outputs: Frames, judgements: tuple[Judgement, ...]
    ) -> tuple[Frames, str | None]:
        """The ``after_step_run`` hooks, each given what its judge found next to the step; the first block
        (the judges' next to the step first) is the step's."""
        findings = {j.plugin: j.findings for j in judgements}
        blocked = next((j.blocked_because for j in judgements if j.blocked_because), None)
        for hook in self._judges:
            try:
                verdict = hook(run=self.run, step=planned.spec, outputs=events.FrameViews(outputs),
                               findings=findings.get(hook.plugin))
            except Exception as exc:
                return outputs, blocked or f"plugin '{hook.plugin}' after_step_run failed: {type(exc).__name__}: {exc}"
            if verdict is None:
                continue
            if not isinstance(verdict, StepVerdict):
                wrong = f"plugin '{hook.plugin}' after_step_run returned {verdict!r}, not a StepVerdict"
                return outputs, blocked or wrong
            for key, frame in verdict.replace.items():
                if key not in outputs or not isinstance(frame, pd.DataFrame):
                    return outputs, blocked or f"plugin '{hook.plugin}' replaced unknown output '{key}'"
            outputs = {**outputs, **verdict.replace}
            if verdict.blocked_because and blocked is None:
                blocked = verdict.blocked_because
        return outputs, blocked

    def _finish(
        self,
        planned: PlannedStep,
        attempts: int,
        outputs: Frames,
        ctx: StepContext | None,
        observed: dict[str, Any] | None = None,
        reused: Reused | None = None,
        summaries: dict[str, Any] | None = None,
        judgements: tuple[Judgement, ...] = (),
    ) -> bool:
        """Record a step that returned its outputs (or whose outputs a plugin reused); False when a judge
        blocked it."""
        name = planned.spec.name
        raw = outputs
        if self._judges or judgements:
            outputs, blocked = self._judge(planned, outputs, judgements)
            near = self._near.get(name)
            if outputs is not raw and near is not None and near.summarizers:
                # An after_step_run hook replaced outputs here: summarized again, here, as they now are.
                here = Judged({k: _here(f) for k, f in outputs.items()}, _replaced(raw, outputs))
                summaries = call_each(near.summarizers, here, ctx)
            if blocked:
                self._fail(planned, attempts, RuntimeError(blocked), ctx, blocked=True, summaries=summaries)
                return False
        rec = self.record.steps[name]
        duration = time.perf_counter() - self._t0 - (rec.start_s or 0.0)
        if len(outputs) == 1:  # the common case, without a comprehension's call
            ((key, frame),) = outputs.items()
            rows = {key: _rows(frame)}
        else:
            rows = {key: _rows(frame) for key, frame in outputs.items()}
        rec.status, rec.attempts, rec.duration_s, rec.rows_out = SUCCEEDED, attempts, duration, rows
        datasets: list[DatasetIO] | tuple[DatasetIO, ...] = ()
        if reused is not None:
            datasets = reused.datasets
        elif ctx is not None:
            datasets = ctx.datasets
            if datasets:
                rec.datasets = list(datasets)
            if ctx.staged:
                self._keep_staged(ctx.staged)
        self._outputs[name] = outputs
        if self._debug:
            self.log.debug("step succeeded", step=name, attempts=attempts, duration_s=duration, rows_out=rows)
        self.record.signals["step_complete"] += 1
        if signals.step_complete.receivers or signals.step_complete in self._hooked:
            replaced = _replaced(raw, outputs).union(*(j.replaced for j in judgements))
            payload = events.StepCompleted(
                planned.spec,
                attempts,
                self._wall(rec.start_s),
                duration,
                events.FrameViews(outputs),
                MappingProxyType(rows),
                tuple(datasets),
                reused is not None,
                rec.cache_key,
                MappingProxyType(observed or {}),
                replaced,
                MappingProxyType(summaries or {}),
            )
            self._deliver(signals.step_complete, payload)
        return True

    def _fail(
        self,
        planned: PlannedStep,
        attempts: int,
        error: BaseException,
        ctx: StepContext | None,
        *,
        blocked: bool,
        trace: Trace | None = None,
        summaries: dict[str, Any] | None = None,
    ) -> None:
        name = planned.spec.name
        rec = self.record.steps[name]
        datasets = tuple(ctx.datasets) if ctx is not None else ()
        if datasets:
            rec.datasets = list(datasets)  # a failed step's files still belong to the run's lineage
        self._discard_attempt(ctx)
        duration = time.perf_counter() - self._t0 - (rec.start_s or 0.0)
        message = str(error) if isinstance(error, DataError) or blocked else f"{type(error).__name__}: {error}"
        rec.status, rec.attempts, rec.duration_s, rec.error = (
            (BLOCKED if blocked else FAILED),
            attempts,
            duration,
            message,
        )
        if trace is not None:
            rec.error_at, rec.traceback = trace.where, trace.text
        if isinstance(error, DataError):
            self._data_error = True
            self.record.error = f"step '{name}': {message}"
        self.log.error(
            "step failed", step=name, attempts=attempts, blocked=blocked, error=message, error_at=rec.error_at,
            traceback=rec.traceback,
        )
        self._send(
            signals.step_error,
            events.StepErrored,
            step=planned.spec,
            attempts=attempts,
            started_at=self._wall(rec.start_s),
            duration_s=duration,
            error=error,
            blocked=blocked,
            datasets=datasets,
            summaries=MappingProxyType(summaries or {}),
        )

    def _skip_downstream(self, name: str, consumers: dict[str, int], sinks: set[str]) -> None:
        below = sorted(nx.descendants(self.plan.graph, name), key=lambda n: self.plan.steps[n].index)
        for other in below:
            if self.record.steps[other].status == "pending":
                self._skip(self.plan.steps[other], f"upstream step '{name}' did not succeed", name, consumers, sinks)

    def _skip(
        self, planned: PlannedStep, reason: str, cause: str | None, consumers: dict[str, int], sinks: set[str]
    ) -> None:
        rec = self.record.steps[planned.spec.name]
        rec.status, rec.skipped_because = SKIPPED, reason
        self.log.warning("step skipped", step=planned.spec.name, reason=reason)
        self._send(signals.step_skipped, events.StepSkipped, step=planned.spec, reason=reason, cause=cause)
        if not self.keep_outputs:
            self._release(planned, consumers, sinks)

    def _release(self, planned: PlannedStep, consumers: dict[str, int], sinks: set[str]) -> None:
        # Drop an output once its last consumer is done with it: memory stays bounded by the frontier.
        readers = self._readers
        for ref in planned.reads:
            left = readers[ref] - 1
            readers[ref] = left
            producer, output = ref
            if not left and producer not in sinks:
                outputs = self._outputs.get(producer)
                if outputs is not None and output in outputs:
                    # a new mapping: the one a listener was given with step_complete stays as it was sent
                    self._outputs[producer] = {key: frame for key, frame in outputs.items() if key != output}
        for producer in planned.producers:
            consumers[producer] -= 1
            if consumers[producer] == 0 and producer not in sinks:
                self._outputs.pop(producer, None)


def _replaced(raw: Frames, judged: Frames) -> frozenset[str]:
    if judged is raw:
        return frozenset()
    return frozenset(key for key, frame in judged.items() if frame is not raw[key])


def _refreshed(plan: Plan, refresh: Iterable[str] | bool) -> frozenset[str]:
    """The steps a run recomputes whatever a cache holds: those named, and everything downstream of them."""
    if refresh is True:
        return frozenset(plan.steps)
    if refresh is False:
        return frozenset()
    found: set[str] = set()
    for name in refresh:
        if name not in plan.steps:
            raise KernelError(f"--refresh names step '{name}', which the pipeline does not have")
        found |= {name, *nx.descendants(plan.graph, name)}
    return frozenset(found)


def _first_done(in_flight: deque[tuple[PlannedStep, int, _Pending]]) -> tuple[PlannedStep, int, _Pending]:
    """Take from ``in_flight`` the attempt that finished first (waiting for one if none has)."""
    done = [entry for entry in in_flight if not isinstance(entry[2], Future) or entry[2].done()]
    if not done:
        wait([entry[2] for entry in in_flight if isinstance(entry[2], Future)], return_when=FIRST_COMPLETED)
        done = [entry for entry in in_flight if not isinstance(entry[2], Future) or entry[2].done()]
    first = min(done, key=lambda entry: entry[0].index)
    in_flight.remove(first)
    return first


def _rows(frame: pd.DataFrame | KeptFrame) -> int:
    return frame.rows if isinstance(frame, KeptFrame) else len(frame.index)


def _here(frame: pd.DataFrame | KeptFrame) -> pd.DataFrame:
    return frame.fetch() if isinstance(frame, KeptFrame) else frame


def _receiver_name(receiver: object) -> str:
    return str(getattr(receiver, "__qualname__", None) or repr(receiver))


def _given(plan: Plan, given: Mapping[str, Mapping[str, pd.DataFrame]]) -> dict[str, Reused]:
    """Outputs a caller gives for steps of the plan (one batch of a stream, what a stream gathered for the steps
    after it), checked against the steps' declared outputs; each stands for its step, which is not run, nor
    anything above it that only it needs in a partial run."""
    found: dict[str, Reused] = {}
    for name, outputs in given.items():
        planned = plan.steps.get(name)
        if planned is None:
            raise KernelError(f"outputs are given for step '{name}', which the pipeline does not have")
        frames = outputs_of(dict(outputs), planned.type.outputs, planned.plugin, planned.type.name)
        found[name] = Reused(outputs=frames, key="given")
    return found
