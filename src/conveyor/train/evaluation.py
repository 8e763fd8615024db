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
from conveyor.train.holdout import check_on_holdout

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
PERMUTATION_REPEATS = 3
SCORING_OVERHEAD = 1.3  # permutation importance: its predictions' seconds times this (scoring, copying the column)
SHAP_PROBE_ROWS = 20  # SHAP's seconds per row are measured on this many rows before it runs on more
SHAP_MIN_ROWS = 100  # fewer rows than this that the budget leaves for SHAP: it is skipped


def evaluate_result(result: AutoMLResult, *, slice_column: str | None = None, sensitive: list[str] | None = None,
                    seed: int = 0, evaluate: str = "full", deadline: Deadline | None = None) -> dict[str, Any]:
    """``evaluate``: ``basic`` (metrics, curves or residuals, slices, fairness, latency) or ``full`` (also
    permutation importance and SHAP, when the ``deadline`` leaves time for them; else they are recorded as
    skipped with the reason). Analyses the model the holdout metrics are of (not a refit that saw those rows)."""
    if evaluate not in EVALUATE_MODES:
        raise BadInputError(f"Unknown evaluation {evaluate!r}.", field="train.evaluate",
                            hint="Use basic (metrics, curves, slices, fairness) or full (also importances).")
    deadline = deadline or Deadline(float("inf"))
    holdout = result.holdout
    X = holdout[result.features]
    y = holdout[result.target].reset_index(drop=True)
    y_true = y.to_numpy()
    model = result.evaluated_pipeline if result.evaluated_pipeline is not None else result.pipeline
    check = result.holdout_check  # the holdout metrics' own outputs: not predicted again
    if check is None or not check.matches(holdout):
        check = check_on_holdout(model, holdout[[*result.features, result.target]], result.target, result.task,
                                 result.classes, deadline.clock)
    y_pred, proba = check.labels, check.proba
    predict_per_row = check.predict_seconds / max(len(X), 1)
    report: dict[str, Any] = {"task": result.task, "metric": result.metric, "metrics": result.holdout_metrics,
                              "validation": result.validation, "validation_score": result.validation_score,
                              "holdout_rows": len(holdout), "classes": [str(c) for c in result.classes],
                              "leaderboard": leaderboard(result), "ensemble": result.ensemble,
                              "feature_selection": [d.to_dict() for d in result.selection],
                              "preprocessing": result.preprocessing, "dropped_columns": result.dropped}
    if result.task == "classification":
        if proba is None:
            raise BadInputError("The model gives no class probabilities to evaluate.", field="model",
                                hint="Train a classifier with predict_proba (every family Conveyor searches has it).")
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
    if evaluate == "basic":
        report["importance"] = {"skipped": "train.evaluate is basic (set it to full, or --evaluate full)"}
        return report
    report["importance"] = _importances(model, X, y, result, seed, deadline, predict_per_row)
    return report


def permutation_scoring(metric: str, task: str, classes: list, y_true: np.ndarray) -> tuple[Any, str]:
    """The scorer permutation importance ranks the features with, and the metric it scores: the run's own, over every
    class the model knows. A holdout can lack a rare class (flights_carrier's 2,000 holdout rows held 14 of its 15
    carriers): the scorers scikit-learn names by string then refuse the model's 15 probability columns, and ROC AUC
    over the classes is undefined, so log-loss over them stands in for it."""
    if task != "classification" or metric not in ("log_loss", "roc_auc"):
        return SCORERS.get(metric), metric
    if metric == "roc_auc" and len(classes) == 2:
        return "roc_auc", metric
    if metric == "roc_auc" and set(np.unique(y_true).tolist()) >= set(classes):
        return "roc_auc_ovr", metric
    from sklearn.metrics import log_loss, make_scorer

    return make_scorer(log_loss, greater_is_better=False, response_method="predict_proba",
                       labels=list(classes)), "log_loss"


def _importances(model: Any, X: pd.DataFrame, y: pd.Series, result: AutoMLResult, seed: int, deadline: Deadline,
                 predict_per_row: float) -> dict[str, Any]:
    """Permutation importance and SHAP, each when its measured cost still fits the budget: permutation importance
    costs its predictions (the evaluation's own prediction timed them), SHAP is timed on a few rows first and then
    runs on the rows the budget leaves it (TreeSHAP of a 30-class LightGBM took 10.5 s on 1,000 rows, 50 times its
    predictions: a guess from the basic evaluation's seconds ended a 30 s training at 37 s)."""
    keep = deadline.after_search() / 2 if np.isfinite(deadline.budget) else 0.0  # no deadline: nothing to keep
    rows = min(explain.MAX_ROWS, len(X))
    importance: dict[str, Any] = {}
    skipped = []
    scoring, scored_on = permutation_scoring(result.metric, result.task, result.classes, y.to_numpy())
    if scored_on != result.metric:
        importance["scoring"] = f"{scored_on} (ROC AUC has no value for a class the holdout rows lack)"
    permutation = predict_per_row * rows * (len(result.features) * PERMUTATION_REPEATS + 1) * SCORING_OVERHEAD
    if deadline.fits(permutation, keep):
        importance["permutation"] = explain.permutation_importances(model, X, y.set_axis(X.index), scoring, seed,
                                                                    repeats=PERMUTATION_REPEATS)
    else:
        skipped.append(f"permutation importance (about {permutation:.1f} s)")
    probe_rows = min(SHAP_PROBE_ROWS, rows)
    probing = deadline.clock()
    probe = explain.shap_importances(model, X, model_contributions, seed, rows=probe_rows)
    per_row = (deadline.clock() - probing) / probe_rows
    left = deadline.remaining() - keep  # infinite without a deadline
    affordable = rows if per_row <= 0 or left >= per_row * rows else int(max(left, 0.0) / per_row)
    if probe is None or rows == probe_rows:  # not exactly explainable (None), or every row already explained
        importance["shap"] = probe
    elif min(rows, affordable) >= SHAP_MIN_ROWS:
        importance["shap"] = explain.shap_importances(model, X, model_contributions, seed, rows=min(rows, affordable))
        if affordable < rows:
            importance["shap_rows"] = affordable  # fewer rows than usual: what the budget left
    else:
        importance["shap"] = None
        skipped.append(f"SHAP (about {per_row * rows:.1f} s)")
    if skipped:
        importance["skipped"] = f"the budget was spent before {' and '.join(skipped)}: give a larger --budget"
    return importance
