"""Prediction-log segments beyond the role contract: sealing under encryption at rest, and how Stores opens them."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from conveyor.core.entities import new_id
from conveyor.core.errors import IntegrityError
from conveyor.store.encryption import Keyring, new_key
from conveyor.store.prediction_segments import SegmentedPredictionStore, read_segment, segment_folder_for
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


OLD_SEGMENT = Path(__file__).parent / "data" / "segment-snappy-f9e74d1.parquet"  # by main at f9e74d1 (snappy)


def test_a_segment_written_by_the_previous_code_still_drains(tmp_path):
    folder = tmp_path / "segments"
    folder.mkdir()
    shutil.copy(OLD_SEGMENT, folder / "00000000001700000000-1-00000000.parquet")
    store = SegmentedPredictionStore(InMemoryPredictionStore(), folder)
    store.write_segment([_batch()])  # a new segment beside it: both drain
    assert store.drain() == 7 and store.pending() == []
    got = {p.id: p for p in store.recent("churn")}
    first, shadow = got[f"{0:032x}"], got[f"{101:032x}"]
    assert (first.model, first.at, first.latency_ms, first.role, first.request_id) == \
        ("churn:2", 1700000000.5, 0.25, "primary", "req-1")
    assert first.inputs == {"a": 1.0, "b z": None} and first.outputs == {"prediction": 0,
                                                                          "proba": {"0": 0.75, "1": 0.25}}
    assert (shadow.role, shadow.request_id, shadow.inputs) == ("shadow", None, {"a": 6.0, "b z": 7.0})
    assert shadow.outputs == {"prediction": 0, "proba": {"0": 1.0, "1": 0.0}}
    assert len(got) == 7


def _serving_batches(requests: int, rows: int) -> list[PredictionBatch]:
    """Batches as the serving path hands them over: with the probability matrix and the id block."""
    rng = np.random.default_rng(7)
    out = []
    for r in range(requests):
        text = os.urandom(16 * rows).hex()
        ids = [text[i:i + 32] for i in range(0, 32 * rows, 32)]
        p = rng.random(rows)
        proba = np.column_stack([1 - p, p])
        proba[0, 0] = np.nan  # a missing probability reads back as None either way
        out.append(PredictionBatch(ids, "churn:1", 1_700_000_000.0 + r, 0.5 + r, ["x", "y"], None,
                                   (p > 0.5).astype(int).tolist(), ["0", "1"], proba,
                                   "canary" if r % 2 else "primary", f"req-{r}" if r % 3 else None,
                                   rng.normal(size=(rows, 2)), text if r != 1 else None))
    return out


@pytest.mark.parametrize("sealed", [False, True])
def test_matrix_and_id_block_batches_read_back_as_the_lists_do(tmp_path, sealed):
    keyring = Keyring.of([new_key()], "test") if sealed else None
    batches = _serving_batches(4, 5)  # request 1 without an id block: the column mixes both ways
    as_lists = [dataclasses.replace(b, proba=[[None if v != v else v for v in row] for row in b.proba.tolist()],
                                    id_text=None) for b in batches]  # NaN is stored as a missing value
    expected = {r.id: r for b in as_lists for r in b.records()}
    store = SegmentedPredictionStore(InMemoryPredictionStore(), tmp_path / "segments", keyring=keyring)
    path = store.write_segment(batches)
    read = read_segment(path, keyring)
    assert [b.ids for b in read] == [b.ids for b in batches]
    got = {r.id: r for b in read for r in b.records()}
    assert got.keys() == expected.keys()
    for pid, record in expected.items():
        assert got[pid] == record
    assert got[batches[0].ids[0]].outputs["proba"]["0"] is None


def test_segments_are_written_uncompressed_without_statistics(tmp_path):
    import pyarrow.parquet as pq

    store = SegmentedPredictionStore(InMemoryPredictionStore(), tmp_path / "segments")
    meta = pq.ParquetFile(store.write_segment(_serving_batches(2, 4))).metadata
    assert meta.num_row_groups == 1
    columns = [meta.row_group(0).column(j) for j in range(meta.num_columns)]
    assert {c.compression for c in columns} == {"UNCOMPRESSED"}
    assert not any(c.is_stats_set for c in columns)
