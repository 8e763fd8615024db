"""What a scored micro-batch hands the prediction log: the probability matrix and one block of ids per request."""

from __future__ import annotations

import re

import numpy as np

from conveyor.registry.models import load_model
from conveyor.serve.inputs import Inputs
from conveyor.serve.scoring import Served, prediction_ids


class Capture:
    def __init__(self) -> None:
        self.logged: list = []

    def log(self, item) -> None:
        self.logged.append(item)


def test_a_micro_batch_hands_the_log_its_probability_matrix_and_id_blocks(stores, booster):
    booster.register(stores, "b")
    capture = Capture()
    served = Served(load_model(stores, "b"), capture)  # type: ignore[arg-type]
    rows = booster.rows.to_numpy(np.float64)
    requests = [Inputs(booster.features, matrix=rows[:3]), Inputs(booster.features, matrix=rows[3:8])]
    answers = served.score_many(requests, [None, None], ["r1", None])
    ids = [i for scored in answers for i in scored.ids]
    assert len(set(ids)) == 8 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)  # /feedback's id format
    for scored, request in zip(answers, requests, strict=True):
        assert scored.id_text == "".join(scored.ids)
        assert scored.proba_matrix.dtype == np.float64 and scored.proba_matrix.tolist() == scored.proba
        assert len(scored.proba) == len(request)
    batches = [item.batch() for item in capture.logged]
    assert [b.ids for b in batches] == [a.ids for a in answers]
    assert [b.id_text for b in batches] == [a.id_text for a in answers]
    assert batches[1].proba is answers[1].proba_matrix and batches[0].request_id == "r1"
    assert batches[1].records()[0].outputs == {"prediction": answers[1].predictions[0],
                                               "proba": dict(zip(["0", "1"], answers[1].proba[0], strict=True))}


def test_prediction_ids_are_unique_32_character_hex_in_a_block():
    block = prediction_ids.block(1000)
    ids = prediction_ids.split(block)
    assert len(block) == 32_000 and len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and "".join(ids) == block
    assert len(prediction_ids.take(3)) == 3
