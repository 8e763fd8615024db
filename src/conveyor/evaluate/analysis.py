"""The evidence a reviewer reads beside the headline metric: curves, confusion matrix, residuals, calibration,
metrics per slice of a column, and fairness across sensitive columns (fairlearn). All plain JSON-able dicts, so a
run stores them as an artifact and the HTML report draws them."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import BadInputError
from conveyor.evaluate.metrics import calibration_bins, classification_metrics, regression_metrics

with extra_imports("train"):
    from sklearn import metrics as skm

CURVE_POINTS = 60
MAX_SLICES = 20
MAX_RESIDUALS = 400


def _thin(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    keep = np.unique(np.linspace(0, len(x) - 1, min(len(x), CURVE_POINTS)).astype(int))
    return [[float(x[i]), float(y[i])] for i in keep]


def classification_curves(y_true: np.ndarray, proba: np.ndarray, classes: list) -> dict[str, Any]:
    """ROC and precision-recall curves of the positive class (binary) or of each class against the rest."""
    result: dict[str, Any] = {"roc": {}, "pr": {}}
    targets = [classes[1]] if len(classes) == 2 else classes
    for label in targets:
        column = classes.index(label)
        positive = np.asarray(y_true) == label
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = skm.roc_curve(positive, proba[:, column])
        precision, recall, _ = skm.precision_recall_curve(positive, proba[:, column])
        result["roc"][str(label)] = _thin(fpr, tpr)
        result["pr"][str(label)] = _thin(recall[::-1], precision[::-1])
    result["calibration"] = calibration_bins(np.asarray(y_true), proba, classes)
    return result


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: list) -> dict[str, Any]:
    matrix = skm.confusion_matrix(y_true, y_pred, labels=classes)
    return {"labels": [str(c) for c in classes], "matrix": matrix.tolist()}


def residuals(y_true: np.ndarray, y_pred: np.ndarray, seed: int = 0) -> dict[str, Any]:
    rows = np.random.default_rng(seed).permutation(len(y_true))[:MAX_RESIDUALS]
    errors = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    return {"points": [[float(y_pred[i]), float(errors[i])] for i in rows],
            "mean": float(errors.mean()), "std": float(errors.std())}


def _groups(series: pd.Series) -> pd.Series:
    """Numbers with many values go into quartiles; everything else is grouped as it is (rare values pooled)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) and series.nunique() > 10:
        return pd.qcut(series, 4, duplicates="drop").astype(str)
    text = series.astype("object").where(series.notna(), "(missing)").astype(str)
    top = text.value_counts().index[:MAX_SLICES]
    return text.where(text.isin(top), "(other)")


def _metrics(task: str, y_true, y_pred, proba, classes) -> dict[str, float]:
    if task == "regression":
        return regression_metrics(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float))
    return classification_metrics(np.asarray(y_true), np.asarray(y_pred), proba, classes)


def slice_metrics(column: pd.Series, task: str, y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                  classes: list) -> list[dict[str, Any]]:
    groups = _groups(column.reset_index(drop=True))
    result = []
    for value in sorted(groups.unique(), key=str):
        rows = (groups == value).to_numpy()
        part = None if proba is None else proba[rows]
        result.append({"value": str(value), "rows": int(rows.sum()),
                       "metrics": _metrics(task, y_true[rows], y_pred[rows], part, classes)})
    return result


def fairness(column: pd.Series, task: str, y_true: np.ndarray, y_pred: np.ndarray,
             classes: list) -> dict[str, Any]:
    """Per-group metrics and the largest gaps between groups (fairlearn's definitions)."""
    with extra_imports("fairness"):
        from fairlearn.metrics import (
            MetricFrame,
            demographic_parity_difference,
            equalized_odds_difference,
            false_positive_rate,
            selection_rate,
            true_positive_rate,
        )

    groups = _groups(column.reset_index(drop=True)).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a group without positives makes a rate undefined: reported as missing
        if task == "regression":
            frame = MetricFrame(metrics={"mae": skm.mean_absolute_error}, y_true=np.asarray(y_true, dtype=float),
                                y_pred=np.asarray(y_pred, dtype=float), sensitive_features=groups)
            return {"by_group": _records(frame.by_group), "mae_difference": float(frame.difference()["mae"])}
        if len(classes) != 2:
            frame = MetricFrame(metrics={"accuracy": skm.accuracy_score}, y_true=np.asarray(y_true),
                                y_pred=np.asarray(y_pred), sensitive_features=groups)
            return {"by_group": _records(frame.by_group), "accuracy_difference": float(frame.difference()["accuracy"])}
        positive = classes[1]
        truth, predicted = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
        frame = MetricFrame(metrics={"accuracy": skm.accuracy_score, "selection_rate": selection_rate,
                                     "true_positive_rate": true_positive_rate,
                                     "false_positive_rate": false_positive_rate},
                            y_true=truth, y_pred=predicted, sensitive_features=groups)
        return {"by_group": _records(frame.by_group),
                "demographic_parity_difference": float(demographic_parity_difference(
                    truth, predicted, sensitive_features=groups)),
                "equalized_odds_difference": float(equalized_odds_difference(
                    truth, predicted, sensitive_features=groups))}


def _records(by_group: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for group, values in by_group.iterrows():
        rows.append({"group": str(group), **{k: (None if pd.isna(v) else float(v)) for k, v in values.items()}})
    return rows


def check_columns(frame: pd.DataFrame, columns: list[str], field: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadInputError(f"{field} names columns the data does not have: {missing}.", field=field,
                            hint=f"Use columns of the training data: {', '.join(map(str, frame.columns[:20]))}.")
