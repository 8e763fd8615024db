"""A model's check on the untouched holdout rows, predicted once: the holdout metrics come from these outputs, and
the evaluation stored with the run reuses them instead of predicting the same rows again (a 30-class LightGBM on
flights_dest predicted its 2,000 holdout rows four times: predict and predict_proba for the metrics, then again for
the evaluation, 0.7 s of a 10 s budget)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from conveyor.evaluate.metrics import outputs_metrics


@dataclass
class HoldoutCheck:
    metrics: dict[str, float]
    labels: np.ndarray  # the predicted labels or values, in the holdout's row order
    proba: np.ndarray | None  # ``predict_proba``'s (classifiers that have it)
    predict_seconds: float  # one prediction pass over these rows (``predict_proba``'s, when it gave the labels)
    seconds: float  # the whole check, ``predict_proba`` and the metrics included

    def matches(self, frame: pd.DataFrame) -> bool:
        """Whether these outputs are of ``frame``'s rows (the same number, the only thing left to compare)."""
        return len(self.labels) == len(frame)


def check_on_holdout(model: Any, frame: pd.DataFrame, target: str, task: str, classes: list | None,
                     clock: Callable[[], float] = time.monotonic) -> HoldoutCheck:
    """Score ``model`` on the labelled ``frame`` as ``evaluate_model`` does, keeping its outputs and their seconds."""
    began = clock()
    features = frame.drop(columns=[target])
    proba = None
    if task != "regression" and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(features), dtype=float)
    known = getattr(model, "classes_", None) if proba is not None else None
    if known is not None and proba is not None and proba.ndim == 2 and len(known) == proba.shape[1]:
        # every classifier Conveyor searches predicts its most probable class: one pass over the rows, not two
        # (a 30-class LightGBM on flights_dest: 0.4 s a pass over 1,500 rows, of a 10 s budget)
        labels = np.asarray(known)[proba.argmax(axis=1)]
    else:
        labels = np.asarray(model.predict(features))
    predicted = clock()
    metrics = outputs_metrics(frame[target].to_numpy(), labels, proba, task, classes)
    return HoldoutCheck(metrics, labels, proba, predicted - began, clock() - began)
