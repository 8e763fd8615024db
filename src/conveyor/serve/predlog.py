"""Write served predictions to the metadata store off the request path.

A request only appends to an in-process queue (it does not wake the writer); one background thread wakes every
``flush_interval`` seconds (sooner only for a flush, close or a half-full backlog) and writes everything queued with
``log_batches`` (on a SQLite log: Parquet segments, see :mod:`conveyor.store.prediction_segments`). A database
hiccup must never fail a prediction or stop the thread: a batch that fails is kept and retried once with the next
write, then dropped and counted. :meth:`PredictionLogger.flush` lets ``/feedback`` see predictions made an instant
earlier; :meth:`PredictionLogger.close` writes everything still pending before the server exits.

A request may hand over a *lazy* batch (anything with ``__len__`` and ``batch()`` returning a columnar
:class:`~conveyor.store.predictions.PredictionBatch`, or ``records()``): building it then happens on the writer
thread, not on the request path, and columnar batches reach the store through ``log_batches`` (one multi-row write
with no record object per row). Each wake writes one chunk per kind (batches, records) of up to ``batch_size``
rows; an item's rows are counted once, when it is logged. An answered prediction is never dropped for lack of room:
when the backlog is full, :meth:`PredictionLogger.log` waits for the writer (back-pressure, ``max_wait`` seconds at
most) instead of throwing records away.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from conveyor.core.entities import PredictionRecord
from conveyor.store.predictions import PredictionBatch, PredictionStore

log = logging.getLogger(__name__)

_STOP = object()


class LazyRecords(Protocol):
    def __len__(self) -> int: ...

    def records(self) -> list[PredictionRecord]: ...


class LazyBatch(Protocol):
    """One request's rows, made columnar on the writer's thread (``batch()``), off the request's path."""

    def __len__(self) -> int: ...

    def batch(self) -> PredictionBatch: ...


def _split(sizes: list[int], size: int) -> list[tuple[int, int, int]]:
    """``(first, stop, rows)`` index ranges of at most ``size`` rows each (an item is never split), from the row
    counts the items were logged with (no item is counted again)."""
    ranges: list[tuple[int, int, int]] = []
    first, rows = 0, 0
    for i, n in enumerate(sizes):
        if rows and rows + n > size:
            ranges.append((first, i, rows))
            first, rows = i, 0
        rows += n
    if rows or first < len(sizes):
        ranges.append((first, len(sizes), rows))
    return ranges


class _Chunk:
    """Rows for one write: columnar batches (``log_batches``) or records (``log``), and how many rows they hold."""

    __slots__ = ("columnar", "rows", "units")

    def __init__(self, columnar: bool, units: list[Any], rows: int) -> None:
        self.columnar, self.units, self.rows = columnar, units, rows


@dataclass
class LoggerStats:
    written: int = 0  # records stored
    failed_writes: int = 0  # write attempts that raised
    dropped: int = 0  # records given up on (failed twice, backlog still full after max_wait, or logged after close)
    waited: int = 0  # log() calls that had to wait for room (back-pressure)


class PredictionLogger:
    def __init__(self, predictions: PredictionStore, *, flush_interval: float = 0.2, batch_size: int = 65_536,
                 max_backlog: int = 200_000, max_wait: float = 30.0) -> None:
        self.predictions = predictions
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_backlog = max_backlog
        self.max_wait = max_wait
        self.stats = LoggerStats()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._wake = threading.Event()  # the writer's alarm: a flush, close, a full batch or a full backlog
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)  # notified whenever the writer takes records off the backlog
        self._accepted = 0  # records taken by log()
        self._attempted = 0  # records that have had at least one write attempt
        self._closed = False
        self._last_drop_warning = -math.inf
        self._thread = threading.Thread(target=self._run, name="conveyor-prediction-logger", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def log(self, records: Sequence[PredictionRecord] | PredictionBatch | LazyRecords | LazyBatch) -> None:
        """Queue records for writing; never raises. Waits (at most ``max_wait`` s) only while the backlog is full."""
        count = len(records)
        if not count:
            return
        with self._lock:
            if not self._closed and self._accepted - self._attempted + count > self.max_backlog:
                self.stats.waited += 1
                self._wake.set()
                deadline = time.monotonic() + self.max_wait
                while (not self._closed and self._accepted > self._attempted
                       and self._accepted - self._attempted + count > self.max_backlog
                       and time.monotonic() < deadline):
                    self._room.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            if self._closed or self._accepted - self._attempted + count > max(self.max_backlog, count):
                self.stats.dropped += count
                if time.monotonic() - self._last_drop_warning > 10.0:  # one line per 10 s, not one per request
                    self._last_drop_warning = time.monotonic()
                    log.warning("Dropping prediction records (%s); %d dropped so far.",
                                "logger closed" if self._closed else "write backlog full", self.stats.dropped)
                return
            self._accepted += count
            # half the backlog waiting (far beyond one interval's rows at serving rates): write now, before a
            # request has to wait for room
            urgent = self._accepted - self._attempted >= self.max_backlog // 2
        self._queue.put((records, count))  # counted here once: the writer never measures an item again
        if urgent and not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Write every record logged before this call now (a failed batch gets its retry too); True when the writer
        got through them within ``timeout``."""
        if self._closed:
            return not self._thread.is_alive()
        done = threading.Event()
        self._queue.put(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything pending (retrying failed batches one last time) and stop the thread; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("The prediction logger did not finish writing within %.0f s.", timeout)

    # the writer thread
    def backlog(self) -> int:
        """Rows accepted but not yet attempted."""
        with self._lock:
            return self._accepted - self._attempted

    def _run(self) -> None:
        """Sleep until the interval is up (or a flush, close or a half-full backlog wakes it), then take everything
        queued at once and write it in as few writes as it can (one per kind, up to ``batch_size`` rows each): a
        request's ``log`` only appends to the queue and never wakes this thread, so the serving thread hands the GIL
        over about once per interval, not once per request or per batch."""
        retry: list[_Chunk] = []
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            batches: list[PredictionBatch] = []
            batch_rows: list[int] = []
            records: list[PredictionRecord] = []
            stop, events = False, []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    events.append(item)
                else:
                    self._take(item, batches, batch_rows, records)  # type: ignore[arg-type]
            chunks = [_Chunk(True, batches[a:b], rows) for a, b, rows in _split(batch_rows, self.batch_size)
                      ] if batches else []
            if records:
                chunks += [_Chunk(False, records[a:b], rows)
                           for a, b, rows in _split([1] * len(records), self.batch_size)]
            if chunks or retry:
                retry = self._write(retry, chunks, final=stop)
            for event in events:
                event.set()
            if stop:
                return

    def _take(self, queued: tuple[object, int], batches: list[PredictionBatch], batch_rows: list[int],
              records: list[PredictionRecord]) -> None:
        """Sort one logged item into columnar batches (with its row count, known since ``log``) or records,
        building a lazy one here, on the writer's thread."""
        item, count = queued
        try:
            if isinstance(item, PredictionBatch):
                batches.append(item)
                batch_rows.append(count)
                return
            make = getattr(item, "batch", None)
            if make is not None:
                batches.append(make())
                batch_rows.append(count)
                return
            units = list(item) if isinstance(item, list | tuple) else item.records()  # type: ignore[attr-defined]
        except Exception:  # a bug in a lazy batch must not kill the writer; count its records as lost
            with self._lock:
                self._attempted += count
                self.stats.dropped += count
                self._room.notify_all()
            log.exception("Building %d prediction records failed.", count)
            return
        for unit in units:  # a plain list may hold columnar batches too
            if isinstance(unit, PredictionBatch):
                batches.append(unit)
                batch_rows.append(len(unit))
            else:
                records.append(unit)

    def _write(self, retry: list[_Chunk], chunks: list[_Chunk], *, final: bool) -> list[_Chunk]:
        """Write the chunks to retry then the new ones; returns the new chunks to retry next time."""
        for chunk in retry:
            if not self._store(chunk):
                self._drop(chunk, "failed twice")
        failed = [chunk for chunk in chunks if not self._store(chunk)]
        with self._lock:
            self._attempted += sum(chunk.rows for chunk in chunks)
            self._room.notify_all()
        if failed and final:  # the last chance: retry now rather than never
            for chunk in failed:
                if not self._store(chunk):
                    self._drop(chunk, "failed twice at shutdown")
            return []
        return failed

    def _store(self, chunk: _Chunk) -> bool:
        try:
            if chunk.columnar:
                self.predictions.log_batches(chunk.units)
            else:
                self.predictions.log(chunk.units)
        except Exception:  # any backend error: the server must keep serving
            self.stats.failed_writes += 1
            log.warning("Writing %d prediction records failed; will retry once.", chunk.rows, exc_info=True)
            return False
        self.stats.written += chunk.rows
        return True

    def _drop(self, chunk: _Chunk, why: str) -> None:
        with self._lock:
            self.stats.dropped += chunk.rows
        log.error("Dropped %d prediction records (%s).", chunk.rows, why)
