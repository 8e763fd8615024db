"""The contract every :class:`~conveyor.store.predictions.PredictionStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``prediction_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.store.prediction_segments import SegmentedPredictionStore, read_segment
from conveyor.store.predictions import PredictionBatch, PredictionStore
from conveyor.testing.store_records import NESTED, T0, prediction

__all__ = ["PredictionSegmentsContract", "PredictionStoreContract"]


class PredictionStoreContract:
    """Subclass with a ``prediction_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_predictions_and_feedback(self, prediction_store: PredictionStore) -> None:
        records = [prediction("churn:1", T0), prediction("churn:2", T0 + 2), prediction("other:1", T0 + 1)]
        prediction_store.log(records)
        prediction_store.log([])
        assert [p.id for p in prediction_store.recent()] == [records[1].id, records[2].id, records[0].id]
        assert [p.id for p in prediction_store.recent(limit=2)] == [records[1].id, records[2].id]
        assert [p.id for p in prediction_store.recent("churn")] == [records[1].id, records[0].id]
        assert [p.id for p in prediction_store.recent("churn", limit=1)] == [records[1].id]
        assert prediction_store.recent("nope") == []
        assert [p.id for p in prediction_store.recent("churn", model_version="churn:1")] == [records[0].id]
        assert [p.id for p in prediction_store.recent(model_version="other:1")] == [records[2].id]
        missing = prediction_store.add_feedback({records[0].id: 1, "no-such-id": 0, records[2].id: "yes"})
        assert missing == ["no-such-id"]
        by_id = {p.id: p for p in prediction_store.recent()}
        assert (by_id[records[0].id].label, by_id[records[2].id].label) == (1, "yes")
        assert by_id[records[0].id].labeled_at is not None
        assert (by_id[records[1].id].label, by_id[records[1].id].labeled_at) == (None, None)
        assert by_id[records[1].id] == records[1]

    def test_labels_are_written_once_unless_relabel(self, prediction_store: PredictionStore) -> None:
        record = prediction("churn:1", T0)
        prediction_store.log([record])
        assert prediction_store.add_feedback({record.id: 1}) == []
        # a second label is refused, and answered exactly like an unknown id: no existence oracle
        assert prediction_store.add_feedback({record.id: 0, "no-such-id": 0}) == [record.id, "no-such-id"]
        assert [p.label for p in prediction_store.recent()] == [1]
        assert prediction_store.add_feedback({record.id: 0}, relabel=True) == []
        assert [p.label for p in prediction_store.recent()] == [0]

    def test_role_and_request_id_round_trip(self, prediction_store: PredictionStore) -> None:
        plain = prediction("churn:1", T0)
        shadow = prediction("churn:2", T0 + 1, role="shadow", request_id="req-1")
        canary = prediction("churn:3", T0 + 2, role="canary", request_id="req-2")
        prediction_store.log([plain, shadow, canary])
        by_id = {p.id: p for p in prediction_store.recent("churn")}
        assert (by_id[plain.id].role, by_id[plain.id].request_id) == ("primary", None)
        assert (by_id[shadow.id].role, by_id[shadow.id].request_id) == ("shadow", "req-1")
        assert by_id[canary.id] == canary
        assert prediction_store.add_feedback({shadow.id: 1}) == []
        assert [p.label for p in prediction_store.recent(model_version="churn:2")] == [1]

    def test_json_fields_round_trip(self, prediction_store: PredictionStore) -> None:
        p = PredictionRecord(new_id(), "churn:1", inputs=NESTED, outputs={"proba": [0.25, 0.75]}, at=T0)
        prediction_store.log([p])
        prediction_store.add_feedback({p.id: {"label": [1, "ja"], "nested": NESTED}})
        (got,) = prediction_store.recent()
        assert (got.inputs, got.outputs) == (NESTED, {"proba": [0.25, 0.75]})
        assert got.label == {"label": [1, "ja"], "nested": NESTED}

    def test_log_batches_round_trip_as_records(self, prediction_store: PredictionStore) -> None:
        classified = PredictionBatch([new_id(), new_id()], "churn:1", T0, 1.5, ["a", "b", "city"],
                                     [[1.0, None, "Oslo"], [-2.5, 3, None]], [1, 0], ["0", "1"],
                                     [[0.25, 0.75], [0.875, 0.125]])
        regressed = PredictionBatch([new_id()], "price:2", T0 + 1, 0.5, ["x"], [[7]], [12.5], role="shadow",
                                    request_id="req-9")
        prediction_store.log_batches([classified, regressed])
        prediction_store.log_batches([])
        got = prediction_store.recent()
        assert got[0].id == regressed.ids[0]  # newest first; the two rows of one batch share a time
        assert sorted(p.id for p in got[1:]) == sorted(classified.ids)
        by_id = {p.id: p for p in got}
        for record in classified.records() + regressed.records():
            assert by_id[record.id] == record
        assert by_id[classified.ids[0]].inputs == {"a": 1.0, "b": None, "city": "Oslo"}
        assert by_id[classified.ids[1]].outputs == {"prediction": 0, "proba": {"0": 0.875, "1": 0.125}}
        assert (by_id[regressed.ids[0]].outputs, by_id[regressed.ids[0]].role) == ({"prediction": 12.5}, "shadow")
        assert sorted(p.id for p in prediction_store.recent("churn")) == sorted(classified.ids)
        assert prediction_store.add_feedback({classified.ids[1]: 1, regressed.ids[0]: 11.0}) == []
        assert {p.id: p.label for p in prediction_store.recent()}[classified.ids[1]] == 1
        assert [p.label for p in prediction_store.recent(model_version="price:2")] == [11.0]

    def test_matrix_batches_round_trip_and_skip_existing(self, prediction_store: PredictionStore) -> None:
        import numpy as np

        matrix = np.array([[1.0, np.nan], [-2.5, 3.0]])
        batch = PredictionBatch([new_id(), new_id()], "churn:1", T0, 1.5, ["a", "b"], None, [1, 0], ["0", "1"],
                                [[0.25, 0.75], [0.875, 0.125]], matrix=matrix)
        assert batch.rows() == [[1.0, None], [-2.5, 3.0]]
        prediction_store.log_batches([batch])
        assert prediction_store.add_feedback({batch.ids[0]: 1}) == []
        # a drain that runs twice (a crash between insert and delete) writes nothing twice and keeps the label
        prediction_store.log_batches([batch], skip_existing=True)
        got = {p.id: p for p in prediction_store.recent()}
        assert len(got) == 2
        assert got[batch.ids[0]].inputs == {"a": 1.0, "b": None} and got[batch.ids[0]].label == 1
        assert got[batch.ids[1]] == batch.records()[1]


def _matrix_batch(model: str, n: int, at: float, *, role: str = "primary", request_id: str | None = None,
                  predictions: list[Any] | None = None, proba: bool = True) -> PredictionBatch:
    import numpy as np

    matrix = np.arange(n * 3, dtype=np.float64).reshape(n, 3) / 4
    if n > 1:
        matrix[1, 2] = np.nan  # a missing value reads back as None
    return PredictionBatch([new_id() for _ in range(n)], model, at, 0.5 + n, ["x", "y z", "ü"], None,
                           predictions if predictions is not None else [i % 2 for i in range(n)],
                           ["no", "yes"] if proba else [], [[0.25, 0.75]] * n if proba else None, role, request_id,
                           matrix)


class PredictionSegmentsContract:
    """:class:`~conveyor.store.prediction_segments.SegmentedPredictionStore` over a backend: segments are written,
    drained into the wrapped store exactly once, and read back as the records their batches describe. Subclass it
    with a ``prediction_store`` fixture (a fresh, empty backend store) and pytest's ``tmp_path``."""

    def test_segments_drain_into_the_table(self, prediction_store: PredictionStore, tmp_path: Path) -> None:
        store = SegmentedPredictionStore(prediction_store, tmp_path / "segments")
        first = _matrix_batch("churn:1", 3, T0)
        second = _matrix_batch("churn:1", 2, T0 + 1, role="shadow", request_id="req-1")
        regressed = _matrix_batch("price:2", 2, T0 + 2, predictions=[12.5, -1.0], proba=False)
        labelled = _matrix_batch("price:2", 1, T0 + 3, predictions=[{"nested": [1, "a"]}], proba=False)
        store.log_batches([first, second, regressed, labelled])
        assert len(store.pending()) == 2  # one segment per (model version, inputs, classes)
        assert prediction_store.recent() == []  # nothing in the table until a reader drains
        got = {p.id: p for p in store.recent()}
        assert store.pending() == [] and list((tmp_path / "segments").iterdir()) == []
        expected = first.records() + second.records() + regressed.records() + labelled.records()
        assert {p.id: p for p in expected} == got
        assert got[first.ids[1]].inputs == {"x": 0.75, "y z": 1.0, "ü": None}
        assert store.add_feedback({second.ids[0]: 1}) == []
        labels = {p.id: p.label for p in prediction_store.recent(model_version="churn:1") if p.role == "shadow"}
        assert labels == {second.ids[0]: 1, second.ids[1]: None}

    def test_every_read_and_mutation_drains(self, prediction_store: PredictionStore, tmp_path: Path) -> None:
        store = SegmentedPredictionStore(prediction_store, tmp_path / "segments")
        batch = _matrix_batch("churn:1", 2, T0)
        store.log_batches([batch])
        assert store.add_feedback({batch.ids[1]: "yes"}) == []  # feedback for a row still in a segment
        store.log_batches([_matrix_batch("churn:1", 1, T0 + 1)])
        assert len(store.recent("churn", limit=5)) == 3

    def test_two_drainers_insert_each_row_once(self, prediction_store: PredictionStore, tmp_path: Path) -> None:
        store = SegmentedPredictionStore(prediction_store, tmp_path / "segments")
        other = SegmentedPredictionStore(prediction_store, tmp_path / "segments")  # another process's view
        batches = [_matrix_batch(f"m{i % 3}:1", 4, T0 + i) for i in range(24)]
        for batch in batches:
            store.write_segment([batch])
        moved = hammer_drains([store, other, store, other])
        assert moved == 96
        ids = [p.id for p in prediction_store.recent()]
        assert sorted(ids) == sorted(i for b in batches for i in b.ids)  # every row once
        assert store.pending() == []

    def test_a_crashed_drain_is_finished_without_doubles(self, prediction_store: PredictionStore,
                                                          tmp_path: Path) -> None:
        folder = tmp_path / "segments"
        store = SegmentedPredictionStore(prediction_store, folder, stale_after=60.0)
        batch = _matrix_batch("churn:1", 3, T0)
        segment = store.write_segment([batch])
        # a drainer claimed the segment, inserted its rows, and died before deleting the file
        claimed = segment.with_name(segment.name + ".claimed-999-1-1")
        os.rename(segment, claimed)
        prediction_store.log_batches(read_segment(claimed), skip_existing=True)
        prediction_store.add_feedback({batch.ids[0]: 1})
        assert store.drain() == 0 and claimed.exists()  # a fresh claim is another drainer's: left alone
        os.utime(claimed, (time.time() - 120, time.time() - 120))
        half_written = folder / ".tmp-00000000000000000001-999-00000000"
        half_written.write_bytes(b"PAR1 half")
        os.utime(half_written, (time.time() - 120, time.time() - 120))
        assert store.drain() == 3
        assert sorted(os.listdir(folder)) == []  # the stale claim drained, the half-written file removed
        got = {p.id: p for p in store.recent()}
        assert len(got) == 3 and got[batch.ids[0]].label == 1  # nothing doubled, the label kept


def hammer_drains(stores: list[SegmentedPredictionStore]) -> int:
    """Drain from several threads at once (each store a separate drainer); the rows moved in all."""
    barrier = threading.Barrier(len(stores))

    def drain(store: SegmentedPredictionStore) -> int:
        barrier.wait()
        return store.drain()

    with ThreadPoolExecutor(len(stores)) as pool:
        return sum(pool.map(drain, stores))
