"""Running one step once per partition of its inputs (``partitions: {by, count}``), and putting the
parts' outcomes back together, so that the executor sees ordinary attempts."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd

from kernel.errors import DataError
from kernel.tracebacks import trace_of

Frames = dict[str, pd.DataFrame]
Combine = Callable[[list[Mapping[str, pd.DataFrame]]], Mapping[str, pd.DataFrame]]


def split(inputs: Frames, by: Sequence[str], count: int) -> list[Frames]:
    """The inputs of each partition: the frames that have every ``by`` column split by a stable hash of
    their values (equal keys land together, in every process), the others given whole to every part.
    A split frame's rows keep their positions in the whole frame as their index (a ``combine`` can put
    rows back in the whole input's order). Parts whose split inputs are all empty are left out (one is
    kept when all are)."""
    columns = list(by)
    codes = {
        key: pd.util.hash_pandas_object(frame[columns], index=False).to_numpy() % count
        for key, frame in inputs.items()
        if all(c in frame.columns for c in columns)
    }
    if not codes:
        raise DataError(f"no input has the partition columns {', '.join(columns)} (inputs: {', '.join(inputs)})")
    parts = []
    for index in range(count):
        part = {key: _rows(frame, codes[key] == index) if key in codes else frame for key, frame in inputs.items()}
        if any(len(part[key].index) for key in codes):
            parts.append(part)
    return parts or [{key: frame.iloc[:0] if key in codes else frame for key, frame in inputs.items()}]


def _rows(frame: pd.DataFrame, mask: Any) -> pd.DataFrame:
    positions = np.flatnonzero(mask)
    return frame.take(positions).set_axis(pd.Index(positions), axis=0)


def merge(outcomes: Sequence[tuple[Any, ...]], combine: Combine | None = None) -> tuple[Any, ...]:
    """One outcome from the parts' attempts (as :func:`kernel.attempt.attempt` gives them, nothing run next to
    them), in partition order: the first error,
    else the outputs put together (``combine``, else each concatenated); the contexts' reports joined."""
    contexts = [o[2] for o in outcomes if o[2] is not None]
    ctx = None
    if contexts:
        datasets = [d for c in contexts for d in c.datasets]
        staged = [s for c in contexts for s in c.staged]
        ctx = dataclasses.replace(contexts[0], datasets=datasets, staged=staged)
    failed = next((o for o in outcomes if o[1] is not None), None)
    if failed is not None:
        return None, failed[1], ctx, failed[3], {}, {}, ()
    returned = [o[0] for o in outcomes]
    if combine is not None and all(isinstance(r, Mapping) for r in returned):
        try:
            return dict(combine([dict(r) for r in returned])), None, ctx, None, {}, {}, ()
        except Exception as exc:
            return None, exc, ctx, trace_of(exc, combine), {}, {}, ()
    if all(isinstance(r, pd.DataFrame) for r in returned):
        return pd.concat(returned, ignore_index=True), None, ctx, None, {}, {}, ()
    if all(isinstance(r, dict) for r in returned) and len({tuple(r) for r in returned}) == 1:
        frames = {key: pd.concat([r[key] for r in returned], ignore_index=True) for key in returned[0]}
        return frames, None, ctx, None, {}, {}, ()
    return returned[0], None, ctx, None, {}, {}, ()  # not frames: the runner's output check names what it is


def combined(pieces: Sequence[Any], combine: Combine | None = None) -> Any:
    """The parts' pending outcomes as one: merged now when all are done (inline), else one future that
    completes when the last part does."""
    if not any(isinstance(p, Future) for p in pieces):
        return merge(pieces, combine)
    whole: Future[tuple[Any, ...]] = Future()
    left = [len(pieces)]
    lock = threading.Lock()

    def done(_: object) -> None:
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            outcomes = []
            for piece in pieces:
                try:
                    outcomes.append(piece.result() if isinstance(piece, Future) else piece)
                except Exception as exc:  # a part that could not be sent or brought back
                    outcomes.append((None, exc, None, None, {}, {}, ()))
            whole.set_result(merge(outcomes, combine))

    for piece in pieces:
        if isinstance(piece, Future):
            piece.add_done_callback(done)
        else:
            done(None)
    return whole
