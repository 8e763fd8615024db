"""The contract every :class:`~conveyor.store.predictions.PredictionStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``prediction_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

from conveyor.core.entities import PredictionRecord, new_id
from conveyor.store.predictions import PredictionBatch, PredictionStore
from conveyor.testing.store_records import NESTED, T0, prediction

__all__ = ["PredictionStoreContract"]


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
