"""Everything a reviewer reads about one trained model, computed once on the untouched holdout and stored with the
run (``evaluation.json``): metrics, curves or residuals, slices, fairness, importances, and the trial leaderboard."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.evaluate import analysis, explain
from conveyor.evaluate.metrics import greater_is_better
from conveyor.registry.flavors import contributions
from conveyor.train.automl import AutoMLResult
from conveyor.train.budget import Deadline
from conveyor.train.estimators import EncodedLabels

SCORERS = {"roc_auc": "roc_auc_ovr", "accuracy": "accuracy", "f1": "f1_macro", "precision": "precision_macro",
           "recall": "recall_macro", "log_loss": "neg_log_loss", "rmse": "neg_root_mean_squared_error",
           "mae": "neg_mean_absolute_error", "r2": "r2", "mape": "neg_mean_absolute_percentage_error"}


def leaderboard(result: AutoMLResult) -> list[dict[str, Any]]:
    sign = 1.0 if greater_is_better(result.metric) else -1.0
    done = sorted([t for t in result.trials if t.score is not None], key=lambda t: -sign * t.score)
    rest = [t for t in result.trials if t.score is None]
    return [{"trial": t.number, "family": t.family, "score": t.score, "state": t.state, "seconds": t.seconds,
             "params": t.params, "note": t.error} for t in [*done, *rest]]


def model_contributions(estimator: Any, matrix: Any) -> np.ndarray | None:
    """The flavors' contributions of a pipeline's last step (through the label encoder around XGBoost: a
    forest's own ``estimator`` is only its unfitted template, so only this wrapper is unwrapped)."""
    if isinstance(estimator, EncodedLabels):
        estimator = estimator.estimator
    return contributions(estimator, matrix)


def latency_ms_per_row(model: Any, frame: pd.DataFrame, rows: int = 200) -> float:
    """Median over five batch predictions of up to ``rows`` rows, per row: what a batch scorer would see."""
    batch = frame.head(rows)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        model.predict(batch)
        timings.append((time.perf_counter() - started) * 1000 / max(len(batch), 1))
    return float(np.median(timings))


EVALUATE_MODES = ("basic", "full")
EXTRAS_FACTOR = 3.0  # permutation importance + SHAP cost about this many times the basic evaluation, per feature


def evaluate_result(result: AutoMLResult, *, slice_column: str | None = None, sensitive: list[str] | None = None,
                    seed: int = 0, evaluate: str = "full", deadline: Deadline | None = None) -> dict[str, Any]:
    """``evaluate``: ``basic`` (metrics, curves or residuals, slices, fairness, latency) or ``full`` (also
    permutation importance and SHAP, when the ``deadline`` leaves time for them; else they are recorded as
    skipped with the reason). Analyses the model the holdout metrics are of (not a refit that saw those rows)."""
    if evaluate not in EVALUATE_MODES:
        raise BadInputError(f"Unknown evaluation {evaluate!r}.", field="train.evaluate",
                            hint="Use basic (metrics, curves, slices, fairness) or full (also importances).")
    deadline = deadline or Deadline(float("inf"))
    began = deadline.clock()
    holdout = result.holdout
    X = holdout[result.features]
    y = holdout[result.target].reset_index(drop=True)
    y_true = y.to_numpy()
    model = result.evaluated_pipeline if result.evaluated_pipeline is not None else result.pipeline
    y_pred = np.asarray(model.predict(X))
    proba = None
    report: dict[str, Any] = {"task": result.task, "metric": result.metric, "metrics": result.holdout_metrics,
                              "validation": result.validation, "validation_score": result.validation_score,
                              "holdout_rows": len(holdout), "classes": [str(c) for c in result.classes],
                              "leaderboard": leaderboard(result), "ensemble": result.ensemble,
                              "feature_selection": [d.to_dict() for d in result.selection],
                              "preprocessing": result.preprocessing, "dropped_columns": result.dropped}
    if result.task == "classification":
        proba = np.asarray(model.predict_proba(X), dtype=float)
        report["confusion"] = analysis.confusion(y_true, y_pred, result.classes)
        report["curves"] = analysis.classification_curves(y_true, proba, result.classes)
    else:
        report["residuals"] = analysis.residuals(y_true, y_pred.astype(float), seed)
    if slice_column:
        report["slices"] = {"column": slice_column, "groups": analysis.slice_metrics(
            holdout[slice_column], result.task, y_true, y_pred, proba, result.classes)}
    report["fairness"] = {column: analysis.fairness(holdout[column], result.task, y_true, y_pred, result.classes)
                          for column in sensitive or []}
    report["latency_ms_per_row"] = latency_ms_per_row(model, X)
    report["evaluate"] = evaluate
    basic_seconds = deadline.clock() - began
    if evaluate == "basic":
        report["importance"] = {"skipped": "train.evaluate is basic (set it to full, or --evaluate full)"}
        return report
    expected = basic_seconds * EXTRAS_FACTOR * max(1, len(result.features)) ** 0.5
    if not deadline.fits(expected, deadline.after_search() / 2):
        report["importance"] = {"skipped": f"the budget was spent (about {expected:.1f} s more needed): give a "
                                           "larger --budget"}
        return report
    scoring = SCORERS.get(result.metric)
    if result.task == "classification" and len(result.classes) == 2 and result.metric == "roc_auc":
        scoring = "roc_auc"
    report["importance"] = {"permutation": explain.permutation_importances(model, X, y.set_axis(X.index), scoring,
                                                                           seed),
                            "shap": explain.shap_importances(model, X, model_contributions, seed)}
    return report
