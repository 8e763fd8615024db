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
    labels: np.ndarray  # ``predict``'s output, in the holdout's row order
    proba: np.ndarray | None  # ``predict_proba``'s (classifiers that have it)
    predict_seconds: float  # ``predict``'s own seconds: what one prediction pass over these rows costs
    seconds: float  # the whole check, ``predict_proba`` and the metrics included

    def matches(self, frame: pd.DataFrame) -> bool:
        """Whether these outputs are of ``frame``'s rows (the same number, the only thing left to compare)."""
        return len(self.labels) == len(frame)


def check_on_holdout(model: Any, frame: pd.DataFrame, target: str, task: str, classes: list | None,
                     clock: Callable[[], float] = time.monotonic) -> HoldoutCheck:
    """Score ``model`` on the labelled ``frame`` as ``evaluate_model`` does, keeping its outputs and their seconds."""
    began = clock()
    features = frame.drop(columns=[target])
    labels = np.asarray(model.predict(features))
    predicted = clock()
    proba = None
    if task != "regression" and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(features), dtype=float)
    metrics = outputs_metrics(frame[target].to_numpy(), labels, proba, task, classes)
    return HoldoutCheck(metrics, labels, proba, predicted - began, clock() - began)
