"""Score a conformed frame with the served model: predictions, class probabilities, and one log record per row.

Both HTTP protocols (MLflow ``/invocations`` and Open Inference V2) share this, so a prediction is computed, given
an id and logged the same way whichever door it came through. Everything returned is plain Python (no numpy
scalars), ready for JSON and for the metadata store's JSON columns.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from conveyor.core.entities import PredictionRecord, new_id, now
from conveyor.core.errors import BadInputError, first_line
from conveyor.registry.loaded import LoadedModel
from conveyor.serve.predlog import PredictionLogger

_DATA_ERRORS = (ValueError, TypeError, KeyError, IndexError)


@dataclass
class Scored:
    ids: list[str]
    predictions: list[Any]
    classes: list[Any]  # the columns of ``proba``; empty for regressors
    proba: list[list[float]] | None  # one row per prediction, one column per class
    latency_ms: float

    def probabilities(self) -> list[dict[str, float]] | None:
        """``[{"class": p, ...}, ...]`` with class labels as text (JSON object keys are always text)."""
        if self.proba is None:
            return None
        keys = [str(c) for c in self.classes]
        return [dict(zip(keys, row, strict=True)) for row in self.proba]


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
    return [native(v) for v in np.asarray(values).tolist()]


def predict_frame(model: LoadedModel, frame: pd.DataFrame, field: str = "inputs") -> tuple[Any, Any]:
    """Predictions and (classifiers) probabilities of a checked frame, for requests and files alike.

    A scikit-learn pipeline's preprocessing runs once, not once per call: it is most of the cost of a small request,
    and ``Pipeline.predict`` does exactly this. The model refusing data is the caller's to fix: the usual data
    errors, or anything at all when the model has no signature and so nothing was checked before it. Other errors
    are bugs and propagate.
    """
    classifier = model.task == "classification"
    pipeline = model.model
    try:
        if not (classifier and model.version.flavor == "sklearn" and isinstance(pipeline, Pipeline)
                and hasattr(pipeline.steps[-1][1], "predict_proba")):
            return model.predict(frame), model.predict_proba(frame) if classifier else None
        features = pipeline[:-1].transform(frame) if len(pipeline) > 1 else frame
        final = pipeline.steps[-1][1]
        return final.predict(features), final.predict_proba(features)
    except Exception as exc:
        if not isinstance(exc, _DATA_ERRORS) and model.input_names:
            raise
        raise BadInputError(f"The model could not score this input: {first_line(exc)}", field=field) from None


class Scorer:
    def __init__(self, model: LoadedModel, logger: PredictionLogger | None = None) -> None:
        self.model = model
        self.ref = model.version.ref
        self.logger = logger
        self.classes = list(model.classes)  # in predict_proba's column order

    @property
    def is_classifier(self) -> bool:
        return self.model.task == "classification"

    def score(self, frame: pd.DataFrame, started: float | None = None) -> Scored:
        """``started`` (a ``time.perf_counter()`` reading) lets the logged latency include decoding the request."""
        started = time.perf_counter() if started is None else started
        raw_predictions, raw_proba = predict_frame(self.model, frame)
        predictions = native_list(raw_predictions)
        proba, classes = None, []
        if raw_proba is not None:
            matrix = np.asarray(raw_proba, dtype=float)
            proba = [[float(p) for p in row] for row in matrix]
            classes = self.classes if len(self.classes) == matrix.shape[1] else list(range(matrix.shape[1]))
        scored = Scored([new_id() for _ in predictions], predictions, classes, proba,
                        (time.perf_counter() - started) * 1000)
        if self.logger is not None:
            self.logger.log(self.records(frame, scored))
        return scored

    def records(self, frame: pd.DataFrame, scored: Scored) -> list[PredictionRecord]:
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        probabilities = scored.probabilities()
        at = now()
        records = []
        for i, (pid, row, prediction) in enumerate(zip(scored.ids, rows, scored.predictions, strict=True)):
            outputs: dict[str, Any] = {"prediction": prediction}
            if probabilities is not None:
                outputs["proba"] = probabilities[i]
            records.append(PredictionRecord(id=pid, model=self.ref, inputs={k: native(v) for k, v in row.items()},
                                            outputs=outputs, at=at, latency_ms=scored.latency_ms))
        return records
