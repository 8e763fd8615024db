"""Write served predictions to the metadata store off the request path.

A request only appends to an in-process queue; one background thread batches the records (every
``flush_interval`` seconds or ``batch_size`` records, whichever comes first) into ``log_predictions``. A database
hiccup must never fail a prediction or stop the thread: a batch that fails is kept and retried once with the next
write, then dropped and counted. :meth:`PredictionLogger.flush` lets ``/feedback`` see predictions made an instant
earlier; :meth:`PredictionLogger.close` writes everything still pending before the server exits.

A request may hand over a *lazy* batch (anything with ``__len__`` and ``records()``): building the record objects,
input dicts and all, then happens on the writer thread, not on the request path. An answered prediction is never
dropped for lack of room: when the backlog is full, :meth:`PredictionLogger.log` waits for the writer
(back-pressure, ``max_wait`` seconds at most) instead of throwing records away.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from conveyor.core.entities import PredictionRecord
from conveyor.store.predictions import PredictionStore

log = logging.getLogger(__name__)

_STOP = object()
_WAKE = object()  # the backlog is full: write now rather than at the end of the interval


class LazyRecords(Protocol):
    def __len__(self) -> int: ...

    def records(self) -> list[PredictionRecord]: ...


def _materialise(item: Sequence[PredictionRecord] | LazyRecords) -> list[PredictionRecord]:
    return list(item) if isinstance(item, list | tuple) else item.records()  # type: ignore[union-attr]


@dataclass
class LoggerStats:
    written: int = 0  # records stored
    failed_writes: int = 0  # write attempts that raised
    dropped: int = 0  # records given up on (failed twice, backlog still full after max_wait, or logged after close)
    waited: int = 0  # log() calls that had to wait for room (back-pressure)


class PredictionLogger:
    def __init__(self, predictions: PredictionStore, *, flush_interval: float = 0.2, batch_size: int = 500,
                 max_backlog: int = 200_000, max_wait: float = 30.0) -> None:
        self.predictions = predictions
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_backlog = max_backlog
        self.max_wait = max_wait
        self.stats = LoggerStats()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
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

    def log(self, records: Sequence[PredictionRecord] | LazyRecords) -> None:
        """Queue records for writing; never raises. Waits (at most ``max_wait`` s) only while the backlog is full."""
        count = len(records)
        if not count:
            return
        with self._lock:
            if not self._closed and self._accepted - self._attempted + count > self.max_backlog:
                self.stats.waited += 1
                self._queue.put(_WAKE)
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
        self._queue.put(records)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write every record logged before this call now (a failed batch gets its retry too); True when the writer
        got through them within ``timeout``."""
        if self._closed:
            return not self._thread.is_alive()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything pending (retrying failed batches one last time) and stop the thread; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("The prediction logger did not finish writing within %.0f s.", timeout)

    # the writer thread
    def _run(self) -> None:
        pending: list[PredictionRecord] = []
        retry: list[PredictionRecord] = []
        deadline: float | None = None
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                item = None  # the interval is up
            if item is not None and item is not _STOP and item is not _WAKE and not isinstance(item, threading.Event):
                pending.extend(self._build(item))
                if deadline is None:
                    deadline = time.monotonic() + self.flush_interval
                if len(pending) < self.batch_size and time.monotonic() < deadline:
                    continue
            stop = item is _STOP
            retry = self._write(retry, pending, final=stop)
            pending = []
            deadline = time.monotonic() + self.flush_interval if retry else None
            if isinstance(item, threading.Event):
                item.set()
            if stop:
                return

    def _write(self, retry: list[PredictionRecord], pending: list[PredictionRecord], *,
               final: bool) -> list[PredictionRecord]:
        """Write the retry batch then the new records; returns the new records to retry next time."""
        if retry and not self._store(retry):
            self._drop(retry, "failed twice")
        failed: list[PredictionRecord] = []
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start:start + self.batch_size]
            if not self._store(batch):
                failed.extend(batch)
        with self._lock:
            self._attempted += len(pending)
            self._room.notify_all()
        if failed and final:  # the last chance: retry now rather than never
            if not self._store(failed):
                self._drop(failed, "failed twice at shutdown")
            return []
        return failed

    def _build(self, item: object) -> list[PredictionRecord]:
        try:
            return _materialise(item)  # type: ignore[arg-type]
        except Exception:  # a bug in a lazy batch must not kill the writer; count its records as lost
            count = len(item)  # type: ignore[arg-type]
            with self._lock:
                self._attempted += count
                self.stats.dropped += count
                self._room.notify_all()
            log.exception("Building %d prediction records failed.", count)
            return []

    def _store(self, batch: list[PredictionRecord]) -> bool:
        try:
            self.predictions.log(batch)
        except Exception:  # any backend error: the server must keep serving
            self.stats.failed_writes += 1
            log.warning("Writing %d prediction records failed; will retry once.", len(batch), exc_info=True)
            return False
        self.stats.written += len(batch)
        return True

    def _drop(self, batch: list[PredictionRecord], why: str) -> None:
        with self._lock:
            self.stats.dropped += len(batch)
        log.error("Dropped %d prediction records (%s).", len(batch), why)
