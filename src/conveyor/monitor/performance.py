"""Live performance from feedback labels: metrics per window with 95 % confidence intervals (Wilson for
accuracy, a seeded bootstrap for RMSE/MAE), a timeline in equal-count buckets, and concept drift found by ADWIN
(river) on the stream of errors in arrival order."""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.core.dependencies import extra_imports
from conveyor.core.entities import PredictionRecord

Z95 = 1.959963984540054
BOOTSTRAP = 400
TIMELINE_BUCKETS = 10
ADWIN_DELTA = 0.002


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion: sane at 0, 1 and small n, where the normal interval is not."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def bootstrap(errors: np.ndarray, statistic, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(errors), size=(BOOTSTRAP, len(errors)))
    values = statistic(errors[picks])
    return float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))


def _errors(task: str, labelled: list[PredictionRecord]) -> np.ndarray:
    if task == "classification":
        return np.asarray([str(r.outputs.get("prediction")) != str(r.label) for r in labelled], dtype=np.float64)
    predicted = np.asarray([r.outputs.get("prediction") for r in labelled], dtype=np.float64)
    return predicted - np.asarray([r.label for r in labelled], dtype=np.float64)


def concept_drift(errors: np.ndarray, at: list[float]) -> list[dict[str, Any]]:
    """Where ADWIN sees the error rate (or absolute error) change, in arrival order."""
    with extra_imports("monitor"):  # deferred: river takes ~1.5 s to import
        from river.drift import ADWIN

    detector = ADWIN(delta=ADWIN_DELTA)
    changes = []
    for i, value in enumerate(np.abs(errors)):
        detector.update(float(value))
        if detector.drift_detected:
            changes.append({"index": i, "at": at[i]})
    return changes


def live_performance(task: str, records: list[PredictionRecord]) -> dict[str, Any]:
    """Metrics of the labelled records among ``records`` (any order)."""
    labelled = sorted((r for r in records if r.label is not None), key=lambda r: r.labeled_at or r.at)
    if not labelled:
        return {"labelled": 0}
    try:
        errors = _errors(task, labelled)
    except (TypeError, ValueError):
        return {"labelled": len(labelled), "error": "labels are not numbers, so a regression cannot be scored"}
    result: dict[str, Any] = {"labelled": len(labelled)}
    if task == "classification":
        hits = int(len(errors) - errors.sum())
        result["accuracy"] = hits / len(errors)
        result["accuracy_ci95"] = list(wilson(hits, len(errors)))
    else:
        result["rmse"] = float(np.sqrt(np.mean(errors**2)))
        result["mae"] = float(np.mean(np.abs(errors)))
        result["rmse_ci95"] = list(bootstrap(errors, lambda e: np.sqrt(np.mean(e**2, axis=1))))
        result["mae_ci95"] = list(bootstrap(errors, lambda e: np.mean(np.abs(e), axis=1)))
    times = [r.at for r in labelled]
    timeline = []
    for chunk in np.array_split(np.arange(len(errors)), min(TIMELINE_BUCKETS, len(errors))):
        part = errors[chunk]
        value = 1 - float(part.mean()) if task == "classification" else float(np.sqrt(np.mean(part**2)))
        timeline.append({"at": times[chunk[-1]], "rows": len(chunk), "value": value})
    result["timeline"] = timeline
    changes = concept_drift(errors, times)
    result["concept_drift"] = bool(changes)
    result["change_points"] = changes
    return result
