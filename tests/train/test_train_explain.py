"""Metrics, fairness and explanations on known inputs: values checked against their definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from conveyor.evaluate.analysis import fairness, slice_metrics
from conveyor.evaluate.explain import shap_importances, tree_contributions
from conveyor.evaluate.metrics import calibration_error, classification_metrics, regression_metrics
from conveyor.train.automl import run_automl
from conveyor.train.evaluation import model_contributions


def test_calibration_error_of_a_perfectly_calibrated_and_an_overconfident_model():
    y = np.array([1] * 8 + [0] * 2)
    honest = np.tile([0.2, 0.8], (10, 1))  # says 80% and is right 80% of the time
    assert calibration_error(y, honest, [0, 1]) == pytest.approx(0.0, abs=1e-12)
    overconfident = np.tile([0.01, 0.99], (10, 1))
    assert calibration_error(y, overconfident, [0, 1]) == pytest.approx(0.19)


def test_classification_and_regression_metrics_include_the_issue_list():
    y = np.array(["a", "b", "a", "b", "b"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6], [0.7, 0.3]])
    found = classification_metrics(y, np.array(["a", "b", "a", "b", "a"]), proba, ["a", "b"])
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier",
            "calibration_error"} <= set(found)
    assert found["accuracy"] == pytest.approx(0.8)
    reg = regression_metrics(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert reg["mape"] == pytest.approx(0.1) and reg["mae"] == pytest.approx(15.0)
    assert "mape" not in regression_metrics(np.array([0.0, 1.0]), np.array([0.5, 1.0]))  # undefined at zero


@pytest.mark.parametrize("n_classes", [2, 4])
def test_one_metric_alone_is_the_value_the_full_set_gives_and_nothing_else(n_classes):
    # the search scores every fold and every ensemble step on one metric only (the others cost more than a fit)
    rng = np.random.default_rng(0)
    classes = list(range(n_classes))
    y = rng.integers(0, n_classes, 200)
    proba = rng.random((200, n_classes))
    predicted = proba.argmax(axis=1)
    full = classification_metrics(y, predicted, proba, classes)
    assert {"log_loss", "roc_auc", "accuracy", "f1"} <= set(full)
    for name, value in full.items():
        assert classification_metrics(y, predicted, proba, classes, only=name) == {name: value}


def test_fairness_differences_follow_fairlearns_definitions():
    group = pd.Series(["a"] * 4 + ["b"] * 4)
    y_true = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    y_pred = np.array([1, 1, 1, 0, 0, 0, 1, 0])  # a: selection 0.75, b: 0.25
    report = fairness(group, "classification", y_true, y_pred, [0, 1])
    assert report["demographic_parity_difference"] == pytest.approx(0.5)
    by_group = {g["group"]: g for g in report["by_group"]}
    assert by_group["a"]["selection_rate"] == pytest.approx(0.75)
    assert by_group["b"]["true_positive_rate"] == pytest.approx(0.5)
    # equalized odds: the larger of the TPR gap (1.0 vs 0.5) and the FPR gap (0.5 vs 0.0)
    assert report["equalized_odds_difference"] == pytest.approx(0.5)


def test_slices_split_numbers_into_quartiles_and_count_every_row():
    column = pd.Series(np.arange(100, dtype=float))
    y = np.arange(100, dtype=float)
    groups = slice_metrics(column, "regression", y, y + 1.0, None, [])
    assert len(groups) == 4 and sum(g["rows"] for g in groups) == 100
    assert all(g["metrics"]["mae"] == pytest.approx(1.0) for g in groups)


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "random_forest"])
def test_tree_shap_adds_up_and_names_input_columns(family):
    frame = load_breast_cancer(as_frame=True).frame
    frame = frame.assign(site=np.where(frame.index % 3 == 0, "north", "south"))
    result = run_automl(frame, "target", families=[family], max_trials=1, budget_seconds=120, ensemble=False)
    rows = frame.drop(columns="target").head(20)
    values, columns = tree_contributions(result.pipeline, rows, model_contributions)
    assert set(columns) <= set(rows.columns) and "site" in columns
    if family == "lightgbm":  # exact TreeSHAP: contributions + bias = the raw margin of each row
        model = result.pipeline.steps[-1][1]
        raw = model.predict(result.pipeline[:-1].transform(rows), raw_score=True)
        bias = model.predict(result.pipeline[:-1].transform(rows), pred_contrib=True)[:, -1]
        assert np.allclose(values.sum(axis=1) + bias, raw)
    ranking = shap_importances(result.pipeline, rows, model_contributions)
    assert ranking[0]["mean_abs_shap"] >= ranking[-1]["mean_abs_shap"]
