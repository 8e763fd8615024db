"""Prediction-log segments beyond the role contract: sealing under encryption at rest, and how Stores opens them."""

from __future__ import annotations

import numpy as np
import pytest

from conveyor.core.entities import new_id
from conveyor.core.errors import IntegrityError
from conveyor.store.encryption import Keyring, new_key
from conveyor.store.prediction_segments import SegmentedPredictionStore, segment_folder_for
from conveyor.store.predictions import InMemoryPredictionStore, PredictionBatch
from conveyor.store.stores import Stores


def _batch() -> PredictionBatch:
    ids = [new_id(), new_id()]
    return PredictionBatch(ids, "churn:1", 1_700_000_000.0, 1.0, ["secret_income"], None, [1, 0], ["0", "1"],
                           [[0.25, 0.75], [0.5, 0.5]], request_id="req-77", matrix=np.array([[123456.5], [7.25]]))


def test_sealed_segments_hold_no_plaintext_and_read_back_with_the_key(tmp_path):
    keyring = Keyring.of([new_key()], "test")
    inner = InMemoryPredictionStore()
    store = SegmentedPredictionStore(inner, tmp_path / "segments", keyring=keyring)
    batch = _batch()
    segment = store.write_segment([batch])
    data = segment.read_bytes()
    assert b"PAR1" not in data and batch.ids[0].encode() not in data and b"req-77" not in data
    assert b"secret_income" not in data
    # the same folder without the key: the segment is refused, left in place, and nothing is inserted
    keyless = SegmentedPredictionStore(inner, tmp_path / "segments")
    with pytest.raises(IntegrityError, match="encrypted"):
        keyless.recent()
    assert keyless.pending() == [segment] and inner.recent() == []
    assert {r.id: r for r in store.recent()} == {r.id: r for r in batch.records()}
    assert store.pending() == []


def test_a_segment_sealed_for_another_name_fails_authentication(tmp_path):
    keyring = Keyring.of([new_key()], "test")
    store = SegmentedPredictionStore(InMemoryPredictionStore(), tmp_path / "segments", keyring=keyring)
    first, second = store.write_segment([_batch()]), store.write_segment([_batch()])
    first.replace(tmp_path / "moved")
    second.replace(first)  # the second segment's bytes under the first one's name
    with pytest.raises(IntegrityError):
        store.drain()


def test_stores_open_segments_beside_a_sqlite_log_only(tmp_path):
    assert segment_folder_for(f"sqlite:///{tmp_path / 'meta.db'}") == tmp_path / "meta.db-segments"
    assert segment_folder_for("memory://") is None
    assert segment_folder_for("postgresql://u@localhost/db") is None
    keyring = Keyring.of([new_key()], "test")
    stores = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"), keyring=keyring)
    try:
        log = stores.predictions
        assert isinstance(log, SegmentedPredictionStore) and log.keyring is keyring
        assert log.folder == tmp_path / "meta.db-segments"
        batch = _batch()
        log.log_batches([batch])
        assert len(log.pending()) == 1 and log.recent()[0].request_id == "req-77"
    finally:
        stores.close()
    assert not isinstance(Stores.in_memory().predictions, SegmentedPredictionStore)
