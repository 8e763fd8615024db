"""The background prediction logger: batching, flush on demand, surviving a failing database, clean close."""

from __future__ import annotations

import threading
import time

import pytest

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.core.errors import StoreError
from conveyor.serve.predlog import PredictionLogger
from conveyor.store import InMemoryPredictionStore


def records(n: int) -> list[PredictionRecord]:
    return [PredictionRecord(id=new_id(), model="m:1", inputs={"x": i}, outputs={"prediction": i}) for i in range(n)]


class FlakyStore(InMemoryPredictionStore):
    """Fails the first ``failures`` writes; remembers every batch size it was given."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def log(self, batch):
        with self.lock:
            self.batches.append(len(batch))
            if self.failures > 0:
                self.failures -= 1
                raise StoreError("database is locked")
        super().log(batch)


def test_full_batches_wait_for_the_interval_then_go_in_chunks_of_batch_size_and_close_flushes_everything():
    store = FlakyStore()
    logger = PredictionLogger(store, flush_interval=60.0, batch_size=4)
    logger.log(records(10))
    logger.log(records(3))
    time.sleep(0.3)
    assert store.batches == []  # a full batch does not wake the writer: one write per interval
    logger.close()
    assert store.batches == [4, 4, 4, 1]
    assert len(store.recent()) == 13 and logger.stats.written == 13
    logger.close()  # idempotent


def test_a_partial_batch_is_written_after_the_interval():
    store = FlakyStore()
    logger = PredictionLogger(store, flush_interval=0.05, batch_size=500)
    logger.log(records(3))
    deadline = time.monotonic() + 5
    while len(store.recent()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(store.recent()) == 3
    logger.close()


def test_flush_writes_now():
    store = FlakyStore()
    logger = PredictionLogger(store, flush_interval=60.0)
    logger.log(records(2))
    assert logger.flush(timeout=5)
    assert len(store.recent()) == 2
    logger.close()


def test_a_failed_batch_is_retried_once():
    store = FlakyStore(failures=1)
    logger = PredictionLogger(store, flush_interval=60.0)
    logger.log(records(3))
    logger.flush()
    assert store.recent() == [] and logger.stats.failed_writes == 1
    logger.log(records(2))
    logger.flush()  # the next write carries the retry
    assert len(store.recent()) == 5 and logger.stats.dropped == 0
    logger.close()


def test_a_batch_failing_twice_is_dropped_and_the_thread_keeps_going(caplog):
    store = FlakyStore(failures=2)
    logger = PredictionLogger(store, flush_interval=60.0)
    logger.log(records(3))
    logger.flush()
    logger.flush()
    assert logger.stats.dropped == 3 and "Dropped 3 prediction records" in caplog.text
    logger.log(records(1))
    logger.close()
    assert len(store.recent()) == 1 and logger.stats.written == 1


def test_close_retries_a_pending_failure_at_once():
    store = FlakyStore(failures=1)
    logger = PredictionLogger(store, flush_interval=60.0)
    logger.log(records(4))
    logger.close()
    assert len(store.recent()) == 4


class GatedStore(FlakyStore):
    """Holds every write until ``gate`` opens; ``entered`` says the writer is inside a write."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.entered = threading.Event(), threading.Event()

    def log(self, batch):
        self.entered.set()
        assert self.gate.wait(10)
        super().log(batch)


def test_a_full_backlog_applies_back_pressure_instead_of_dropping_and_close_never_raises():
    store = GatedStore()
    logger = PredictionLogger(store, flush_interval=60.0, max_backlog=5)
    logger.log(records(2))  # half the backlog: wakes the writer, which then hangs inside the store's write
    assert store.entered.wait(5)
    logger.log(records(3))  # the backlog is now exactly full (2 being written + 3 queued): no wait yet
    assert logger.stats.waited == 0
    opener = threading.Timer(0.3, store.gate.set)
    opener.start()
    started = time.monotonic()
    logger.log(records(1))  # over the backlog: waits until the writer finishes its write, then queues
    waited_for = time.monotonic() - started
    opener.join()
    assert 0.2 < waited_for < 5.0
    assert logger.stats.waited == 1 and logger.stats.dropped == 0
    logger.close()
    logger.log(records(2))  # after close: dropped and counted, never raised
    assert logger.stats.dropped == 2 and len(store.recent()) == 6
    assert logger.flush(timeout=0.1)


def test_lazy_batches_are_built_on_the_writer_thread():
    store = FlakyStore()
    built_on: list[str] = []

    class Lazy:
        def __len__(self) -> int:
            return 3

        def records(self):
            built_on.append(threading.current_thread().name)
            return records(3)

    logger = PredictionLogger(store, flush_interval=60.0)
    logger.log(Lazy())
    logger.close()
    assert built_on == ["conveyor-prediction-logger"] and len(store.recent()) == 3


@pytest.mark.parametrize("count", [0, 1])
def test_close_returns_promptly(count):
    logger = PredictionLogger(FlakyStore(), flush_interval=60.0)
    logger.log(records(count))
    started = time.monotonic()
    logger.close()
    # a close that did not wake the writer would take the join's 30 s (or the 60 s interval); 10 s tells that apart
    # and leaves room for a loaded CI machine, where 2 s for a thread handoff and a join was not always enough
    assert time.monotonic() - started < 10


def test_columnar_batches_go_to_log_batches_in_one_write_beside_plain_records():
    from conveyor.store.predictions import PredictionBatch

    class Counting(InMemoryPredictionStore):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[tuple[str, int]] = []

        def log(self, batch):
            self.writes.append(("records", len(batch)))
            super().log(batch)

        def log_batches(self, batches):
            self.writes.append(("batches", sum(len(b) for b in batches)))
            super().log_batches(batches)

    store = Counting()
    logger = PredictionLogger(store, flush_interval=60.0, batch_size=1000)
    batches = [PredictionBatch([new_id() for _ in range(3)], "m:1", 1.0, 0.5, ["x"], [[1.0], [2.0], [None]],
                               [0, 1, 0]) for _ in range(4)]
    for batch in batches[:2]:
        logger.log(batch)
    logger.log(records(2))
    for batch in batches[2:]:
        logger.log(batch)
    logger.close()
    assert store.writes == [("batches", 12), ("records", 2)]  # one write per kind
    logged = {p.id: p for p in store.recent()}
    assert len(logged) == 14 and logger.stats.written == 14
    assert logged[batches[3].ids[2]].inputs == {"x": None}


def test_the_writer_never_counts_an_item_again_and_splits_batches_by_their_logged_counts():
    from conveyor.store.predictions import PredictionBatch

    counted: list[str] = []

    class Counted(PredictionBatch):
        def __len__(self) -> int:
            counted.append(threading.current_thread().name)
            return super().__len__()

    class Written(InMemoryPredictionStore):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[list[int]] = []

        def log_batches(self, batches, *, skip_existing=False):
            self.writes.append([len(b.ids) for b in batches])
            super().log_batches(batches, skip_existing=skip_existing)

    store = Written()
    logger = PredictionLogger(store, flush_interval=60.0, batch_size=6)
    batches = [Counted([new_id() for _ in range(3)], "m:1", 1.0, 0.5, ["x"], [[1.0]] * 3, [0, 1, 0])
               for _ in range(5)]
    for batch in batches:
        logger.log(batch)
    logger.close()
    assert store.writes == [[3, 3], [3, 3], [3]]  # chunks of at most batch_size rows, a batch never split
    assert counted == ["MainThread"] * 5  # once per item, by log(); never on the writer's thread
    assert len(store.recent()) == 15 and logger.stats.written == 15


def test_a_half_full_backlog_wakes_the_writer_before_the_interval():
    store = FlakyStore()
    logger = PredictionLogger(store, flush_interval=60.0, max_backlog=10)
    logger.log(records(4))
    time.sleep(0.2)
    assert store.batches == []  # under half the backlog: waits for the interval
    logger.log(records(1))
    deadline = time.monotonic() + 5
    while sum(store.batches) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sum(store.batches) == 5 and logger.stats.waited == 0
    logger.close()
