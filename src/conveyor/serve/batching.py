"""Adaptive micro-batching: requests that arrive while the model is busy are predicted together.

A request never waits for company it is not going to get: a lone request is scored at once (no added latency at
concurrency 1). While a batch is being scored, new requests queue up; the next batch takes them all, up to
``max_batch_size`` rows. Under load (the previous batch held more than one request) the batcher also waits up to
``max_wait_ms`` for more before scoring, which trades a little latency for fewer, larger model calls.

Small batches for a native booster run on the event loop itself (tens of microseconds: a thread hop would cost
more); anything heavier runs on one worker thread so the loop keeps reading requests meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from conveyor.serve.inputs import Inputs
from conveyor.serve.predictor import SMALL_BATCH
from conveyor.serve.scoring import Scored, Served

_Item = tuple[Inputs, float, str | None, asyncio.Future]


class MicroBatcher:
    def __init__(self, served: Served, *, max_batch_size: int = 64, max_wait_ms: float = 2.0,
                 executor: ThreadPoolExecutor | None = None) -> None:
        self.served = served
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait = max(0.0, max_wait_ms) / 1000
        self.executor = executor
        self._queue: deque[_Item] = deque()
        self._task: asyncio.Task | None = None
        self._last_batch = 0
        self.on_batch: list = []  # callbacks(rows, requests), e.g. metrics

    async def submit(self, inputs: Inputs, started: float, request_id: str | None = None) -> Scored:
        return await self.enqueue(inputs, started, request_id)

    def enqueue(self, inputs: Inputs, started: float, request_id: str | None = None) -> asyncio.Future:
        """The future of this request's :class:`Scored` (call on the event loop); what :meth:`submit` awaits, for
        callers that answer from a done-callback rather than a task of their own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queue.append((inputs, started, request_id, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return future

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        rows = 0
        while self._queue:
            n = len(self._queue[0][0])
            if batch and rows + n > self.max_batch_size:
                break
            batch.append(self._queue.popleft())
            rows += n
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            if self._last_batch > 1 and self.max_wait and self._rows_queued() < self.max_batch_size:
                deadline = time.perf_counter() + self.max_wait
                await asyncio.sleep(0)  # let the loop read and decode the requests already arriving
                while (len(self._queue) < self._last_batch and self._rows_queued() < self.max_batch_size
                       and time.perf_counter() < deadline):
                    await asyncio.sleep(min(0.0005, max(0.0, deadline - time.perf_counter())))
            batch = self._take()
            if not batch:
                break
            self._last_batch = len(batch)
            inputs = [b[0] for b in batch]
            rows = sum(len(i) for i in inputs)
            try:
                if self._inline(rows):
                    answers = self.served.score_many(inputs, [b[1] for b in batch], [b[2] for b in batch])
                else:
                    answers = await loop.run_in_executor(self.executor, self.served.score_many, inputs,
                                                         [b[1] for b in batch], [b[2] for b in batch])
            except Exception as exc:
                if len(batch) > 1:  # one bad request must not fail its neighbours: score them one by one
                    for item in batch:
                        await self._single(loop, item)
                else:
                    _settle(batch[0][3], exc=exc)
                continue
            for callback in self.on_batch:
                callback(rows, len(batch))
            for item, answer in zip(batch, answers, strict=True):
                _settle(item[3], answer)
            await asyncio.sleep(0)  # let requests that arrived meanwhile join the next batch

    async def _single(self, loop: asyncio.AbstractEventLoop, item: _Item) -> None:
        try:
            answer = await loop.run_in_executor(self.executor, self.served.score_many, [item[0]], [item[1]],
                                                [item[2]])
        except Exception as exc:
            _settle(item[3], exc=exc)
        else:
            _settle(item[3], answer[0])

    def _inline(self, rows: int) -> bool:
        return self.served.predictor.native and self.served.predictor.takes_matrix and rows <= SMALL_BATCH

    def _rows_queued(self) -> int:
        return sum(len(item[0]) for item in self._queue)


def _settle(future: asyncio.Future, answer: Scored | None = None, exc: BaseException | None = None) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(answer)
