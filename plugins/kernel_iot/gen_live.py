"""The IoT data set in real time: the telemetry stream written as one Avro file a second, for ``kernel stream``.

``kernel showcase data iot-windowed-kpi --stream --rate 10000 --out DIR`` writes the registry and events as
:func:`kernel_iot.generate.generate` does, then the telemetry, in ingest order, ``rate`` records a second,
each second's records in a file of their own written under a temporary name and renamed into
``DIR/telemetry/`` (``live-NNNNNN.avro``): the arrivals ``kernel stream --landing DIR/telemetry`` waits for.
The records keep the times they were made with (the data set's period), so stream them with ``--clock
data``. It stops after ``seconds`` (or when the data set's records run out).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kernel_iot.gen_avro import TelemetryWriter
from kernel_iot.gen_fleet import HOUR_MS
from kernel_iot.gen_stream import TelemetryStream
from kernel_iot.gen_telemetry import Columns

Progress = Callable[[int, int | None, str], None]


def write_live(stream: TelemetryStream, folder: Path, *, rate: int, seconds: float | None, codec: str,
               sync_marker: bytes, progress: Progress | None = None,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[Path]:
    """Write ``rate`` records a second into files of their own in ``folder``; the paths written."""
    if rate < 1:
        raise ValueError(f"rate must be at least 1 record a second (got {rate})")
    folder.mkdir(parents=True, exist_ok=True)
    pending: Columns = {}
    made_until = stream.fleet.start_ms
    written: list[Path] = []
    total = 0
    start = clock()
    number = 0
    while seconds is None or number < seconds:
        while (not pending or pending["dev"].size < rate) and made_until < stream.fleet.end_ms:
            made_until += HOUR_MS  # an hour of ingest time at a time keeps memory small
            more = stream.take(made_until)
            if more:
                pending = {k: np.concatenate([pending[k], v]) if pending else v for k, v in more.items()}
        if not pending or not pending["dev"].size:
            break  # the data set's records are all written
        chunk = {k: v[:rate] for k, v in pending.items()}
        pending = {k: v[rate:] for k, v in pending.items()}
        target = folder / f"live-{number:06d}.avro"
        tmp = folder / f".{target.name}.tmp"
        with tmp.open("wb") as fo:
            writer = TelemetryWriter(fo, stream.fleet.ids, codec=codec, sync_marker=sync_marker)
            writer.write(chunk, stream.versions.strings)
            writer.close()
        os.replace(tmp, target)  # complete when it appears
        written.append(target)
        total += int(chunk["dev"].size)
        if progress is not None:
            progress(total, None, "records")
        number += 1
        wait = start + number - clock()
        if wait > 0:
            sleep(wait)
    return written
