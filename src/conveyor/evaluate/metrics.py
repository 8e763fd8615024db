"""Holdout metrics by task, and which direction is better for each, so every comparison reads the same."""

from __future__ import annotations

import math

import numpy as np

from conveyor.core.dependencies import extra_imports

with extra_imports("train"):
    from sklearn import metrics as skm

CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss", "pr_auc", "brier",
                          "calibration_error")
REGRESSION_METRICS = ("rmse", "mae", "r2", "mape")
LOWER_IS_BETTER = frozenset({"log_loss", "rmse", "mae", "mape", "brier", "calibration_error"})
CALIBRATION_BINS = 10


def greater_is_better(metric: str) -> bool:
    return metric not in LOWER_IS_BETTER


def default_metric(task: str, n_classes: int = 2) -> str:
    if task == "regression":
        return "rmse"
    return "roc_auc" if n_classes == 2 else "accuracy"


def improvement(metric: str, new: float, old: float) -> float:
    """How much ``new`` beats ``old`` (positive = better), in the metric's own units."""
    return new - old if greater_is_better(metric) else old - new


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                           classes: list, only: str | None = None) -> dict[str, float]:
    """Every classification metric, or ``only`` the one named (the search scores each fold and each ensemble step on
    one metric: the others, ROC AUC over many classes above all, cost more than the fit on small data)."""
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = classes[1] if binary else None
    kwargs = {"average": average, "zero_division": 0}
    if binary:
        kwargs["pos_label"] = pos

    def want(name: str) -> bool:
        return only is None or only == name

    labels = {"accuracy": lambda: skm.accuracy_score(y_true, y_pred),
              "precision": lambda: skm.precision_score(y_true, y_pred, **kwargs),
              "recall": lambda: skm.recall_score(y_true, y_pred, **kwargs),
              "f1": lambda: skm.f1_score(y_true, y_pred, **kwargs)}
    result = {name: compute() for name, compute in labels.items() if want(name)}
    if proba is not None and len(np.unique(y_true)) > 1 and set(result) != {only}:
        proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1)
        proba = proba / proba.sum(axis=1, keepdims=True)
        if binary:
            if want("roc_auc"):
                result["roc_auc"] = skm.roc_auc_score(y_true == pos, proba[:, 1])
            if want("pr_auc"):
                result["pr_auc"] = skm.average_precision_score(y_true == pos, proba[:, 1])
            if want("brier"):
                result["brier"] = skm.brier_score_loss(y_true == pos, proba[:, 1])
        elif len(np.unique(y_true)) == len(classes):
            if want("roc_auc"):
                result["roc_auc"] = skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
            if want("pr_auc"):
                onehot = np.asarray(y_true)[:, None] == np.asarray(classes)[None, :]
                result["pr_auc"] = skm.average_precision_score(onehot, proba, average="macro")
        if want("log_loss"):
            result["log_loss"] = skm.log_loss(y_true, proba, labels=classes)
        if want("calibration_error"):
            result["calibration_error"] = calibration_error(y_true, proba, classes)
    return _finite(result)


def calibration_bins(y_true: np.ndarray, proba: np.ndarray, classes: list, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Confidence of the predicted class vs. how often it was right, per confidence bin (a reliability curve)."""
    confidence = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == np.asarray(y_true)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [{"low": float(edges[b]), "high": float(edges[b + 1]), "count": int((which == b).sum()),
             "confidence": float(confidence[which == b].mean()), "accuracy": float(correct[which == b].mean())}
            for b in range(bins) if (which == b).any()]


def calibration_error(y_true: np.ndarray, proba: np.ndarray, classes: list) -> float:
    """Expected calibration error: the count-weighted gap between confidence and accuracy over the bins."""
    table = calibration_bins(y_true, proba, classes)
    total = sum(b["count"] for b in table)
    return sum(b["count"] * abs(b["confidence"] - b["accuracy"]) for b in table) / total


def _finite(result: dict) -> dict[str, float]:
    """Undefined metrics (NaN, e.g. R² of a constant target) are left out rather than stored as NaN."""
    return {k: float(v) for k, v in result.items() if math.isfinite(float(v))}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return _finite({
        "rmse": math.sqrt(skm.mean_squared_error(y_true, y_pred)),
        "mae": skm.mean_absolute_error(y_true, y_pred),
        "r2": skm.r2_score(y_true, y_pred) if len(y_true) > 1 and np.ptp(y_true) > 0 else float("nan"),
        # undefined where a true value is zero (sklearn would divide by its epsilon instead)
        "mape": skm.mean_absolute_percentage_error(y_true, y_pred) if np.all(y_true != 0) else float("nan"),
    })


def outputs_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, task: str,
                    classes: list | None) -> dict[str, float]:
    """Every metric of a model's outputs (``predict``'s, and ``predict_proba``'s for classifiers that have it)."""
    if task == "regression":
        return regression_metrics(y_true, np.asarray(y_pred, dtype=float))
    return classification_metrics(y_true, np.asarray(y_pred), proba, list(classes or []))


def evaluate_model(model, frame, target: str, task: str, classes: list | None) -> dict[str, float]:
    """Score a fitted estimator (anything with predict / predict_proba) on a labelled frame."""
    features = frame.drop(columns=[target])
    y_pred = model.predict(features)
    proba = model.predict_proba(features) if task != "regression" and hasattr(model, "predict_proba") else None
    return outputs_metrics(frame[target].to_numpy(), y_pred, proba, task, classes)
