"""Score decoded requests with one loaded model version: predictions, class probabilities, ids, log records.

Both HTTP protocols (MLflow ``/invocations`` and Open Inference V2) share this, so a prediction is computed, given
an id and logged the same way whichever door it came through. :meth:`Served.score_many` scores the requests of one
micro-batch in a single model call and splits the answer back. The prediction log gets a lazy batch: its records
(input dicts and all) are built on the logger's thread, not on the request path.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import now
from conveyor.registry.loaded import LoadedModel
from conveyor.serve.inputs import Inputs
from conveyor.serve.predictor import Predictor, model_predict
from conveyor.serve.predlog import PredictionLogger
from conveyor.store.predictions import PredictionBatch

__all__ = ["Scored", "Served", "model_predict", "native", "native_list"]


@dataclass
class Scored:
    ids: list[str]
    predictions: list[Any]
    classes: list[Any]  # the columns of ``proba``; empty for regressors
    proba: list[list[float]] | None  # one row per prediction, one column per class
    latency_ms: float
    model_version: str = ""  # "MODEL:N" that answered
    role: str = "primary"  # primary, canary or shadow
    # what the log takes instead of the lists above (no Python object per row to convert back on its thread):
    proba_matrix: Any = None  # float64 numpy rows x classes behind ``proba`` (a view of the micro-batch's answer)
    id_text: str = ""  # the ids concatenated, 32 characters each (a slice of the micro-batch's block)

    def probabilities(self) -> list[dict[str, float]] | None:
        """``[{"class": p, ...}, ...]`` with class labels as text (JSON object keys are always text)."""
        if self.proba is None:
            return None
        keys = [str(c) for c in self.classes]
        return [dict(zip(keys, row, strict=True)) for row in self.proba]


class _Ids:
    """Prediction ids: 128 random bits each, as 32 hex characters like :func:`new_id`, so no caller can guess
    another's id (``/feedback`` labels by id). The randomness of a whole request comes from one ``os.urandom`` call:
    ``uuid4`` per row cost ~20 us in a getrandom syscall on a busy machine, more than the model on 32 rows."""

    def take(self, n: int) -> list[str]:
        return self.split(self.block(n))

    @staticmethod
    def block(n: int) -> str:
        """``n`` ids concatenated (32 hex characters each): a micro-batch's ids in one call."""
        return os.urandom(16 * n).hex()

    @staticmethod
    def split(text: str) -> list[str]:
        return [text[i:i + 32] for i in range(0, len(text), 32)]


prediction_ids = _Ids()


def fast_id() -> str:
    return prediction_ids.take(1)[0]


def native(value: Any) -> Any:
    """A JSON-ready Python value: numpy scalars unwrapped, NaN/inf and missing markers -> None, times -> ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64 | datetime):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def native_list(values: Any) -> list[Any]:
    array = np.asarray(values)
    kind = array.dtype.kind
    if kind in "iubU" or (kind == "f" and np.isfinite(array).all()):
        return array.tolist()  # the common cases, without a Python call per value
    return [native(v) for v in array.tolist()]


class _LogBatch:
    """The log batch of one scored request (columnar), built only when the logger's thread asks."""

    __slots__ = ("at", "inputs", "request_id", "scored")

    def __init__(self, inputs: Inputs, scored: Scored, request_id: str | None) -> None:
        self.inputs, self.scored, self.request_id, self.at = inputs, scored, request_id, now()

    def __len__(self) -> int:
        return len(self.scored.ids)

    def batch(self) -> PredictionBatch:
        scored, matrix = self.scored, self.inputs.matrix
        frame = self.inputs.frame
        if matrix is None and frame is not None and all(d.kind == "f" for d in frame.dtypes):
            matrix = frame.to_numpy(np.float64)  # a frame of float columns logs as a matrix (the same values)
        if matrix is not None:  # the float matrix as it is: the log makes rows (or Arrow columns) of it if it must
            names, values = [str(c) for c in (self.inputs.names if frame is None else frame.columns)], None
        else:  # a frame may hold numpy scalars, timestamps, NaN: make them JSON-ready
            names, values = self.inputs.input_values()
            values = [[native(v) for v in row] for row in values]
        proba = scored.proba if scored.proba_matrix is None else scored.proba_matrix
        return PredictionBatch(scored.ids, scored.model_version, self.at, scored.latency_ms, names, values,
                               scored.predictions, [str(c) for c in scored.classes], proba, scored.role,
                               self.request_id, matrix, scored.id_text or None)


class Served:
    """One loaded model version, ready to score :class:`Inputs` (in the role it plays on this server)."""

    def __init__(self, model: LoadedModel, logger: PredictionLogger | None = None, role: str = "primary",
                 predictor: Callable[[LoadedModel], Any] | None = None) -> None:
        self.model = model
        self.version = model.version
        self.ref = model.version.ref
        self.logger = logger
        self.role = role
        self.predictor = (predictor or Predictor)(model)  # the model's library, or another runtime (ONNX)
        self.classes = list(model.classes)  # in predict_proba's column order
        self.inputs = model.version.signature.get("inputs", [])
        self.names = [c["name"] for c in self.inputs]
        self.batcher: Any = None  # the micro-batcher of this version, made by the app on first use

    @property
    def is_classifier(self) -> bool:
        return self.model.task == "classification"

    def predict(self, inputs: Inputs) -> tuple[Any, Any]:
        if inputs.matrix is not None and self.predictor.takes_matrix:
            return self.predictor.predict_matrix(inputs.matrix)
        return self.predictor.predict_frame(inputs.as_frame())

    def score(self, inputs: Inputs, started: float | None = None, request_id: str | None = None) -> Scored:
        return self.score_many([inputs], [started], [request_id])[0]

    def score_many(self, batch: list[Inputs], started: Sequence[float | None],
                   request_ids: Sequence[str | None] | None = None) -> list[Scored]:
        """Score several requests with one model call (a micro-batch); one :class:`Scored` per request."""
        if len(batch) == 1:
            joined = batch[0]
        elif all(b.matrix is not None for b in batch) and self.predictor.takes_matrix:
            joined = Inputs(batch[0].names, matrix=np.concatenate([b.matrix for b in batch]))  # type: ignore[misc]
        else:
            joined = Inputs(self.names, frame=pd.concat([b.as_frame() for b in batch], ignore_index=True))
        raw_predictions, raw_proba = self.predict(joined)
        predictions = native_list(raw_predictions)
        proba, matrix, classes = None, None, list[Any]()
        if raw_proba is not None:
            matrix = np.asarray(raw_proba, dtype=np.float64)
            proba = matrix.tolist()
            classes = self.classes if len(self.classes) == matrix.shape[1] else list(range(matrix.shape[1]))
        finished = time.perf_counter()
        answers: list[Scored] = []
        ids = prediction_ids.block(len(predictions))  # one random draw for the micro-batch's ids
        offset = 0
        for i, item in enumerate(batch):
            n = len(item)
            begun = started[i]
            begun = finished if begun is None else begun
            id_text = ids[32 * offset:32 * (offset + n)]
            scored = Scored(prediction_ids.split(id_text), predictions[offset:offset + n], classes,
                            None if proba is None else proba[offset:offset + n], (finished - begun) * 1000,
                            self.ref, self.role, None if matrix is None else matrix[offset:offset + n], id_text)
            offset += n
            if self.logger is not None:
                self.logger.log(_LogBatch(item, scored, request_ids[i] if request_ids else None))
            answers.append(scored)
        return answers
