"""The search itself: families, CV vs holdout, pruning, early stopping, imbalance, ensembling, reproducibility,
automated preprocessing and feature selection, and the bad inputs of the issue's part 10."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from conveyor.core.errors import BadInputError
from conveyor.features.selection import select_features
from conveyor.features.selectors import SELECTORS
from conveyor.train.automl import choose_folds, run_automl
from conveyor.train.estimators import Ensemble


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


def test_folds_follow_the_data_size():
    assert choose_folds(500) == 5 and choose_folds(10_000) == 3 and choose_folds(100_000) == 1


def test_a_large_table_uses_one_validation_split_and_boosted_trees_stop_early():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(26_000, 4))
    frame = pd.DataFrame(x, columns=list("abcd")).assign(y=x[:, 0] * 3 + np.sin(x[:, 1]) + rng.normal(size=26_000))
    result = run_automl(frame, "y", families=["lightgbm", "xgboost"], max_trials=2, budget_seconds=120,
                        ensemble=False)
    assert result.validation == "holdout"
    # early stopping: the rounds actually used are recorded, and they are the ones the refit uses
    for trial in result.trials:
        assert 1 <= trial.params["n_estimators"] <= 1000
    assert result.pipeline.steps[-1][1].n_estimators == result.params["n_estimators"]
    assert result.holdout_metrics["r2"] > 0.8


def test_cross_validation_prunes_hopeless_trials(cancer):
    result = run_automl(cancer, "target", search="random", max_trials=20, budget_seconds=300, seed=2,
                        families=["linear", "lightgbm"], ensemble=False)
    assert result.validation == "5-fold CV"
    states = [t.state for t in result.trials]
    assert "pruned" in states and "complete" in states
    pruned = next(t for t in result.trials if t.state == "pruned")
    assert len(pruned.fold_scores) < 5 and "median" in pruned.error


def test_an_imbalanced_target_puts_class_weights_into_the_search():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1500, 3))
    y = (x[:, 0] + rng.normal(scale=0.5, size=1500) > 1.9).astype(int)  # about 5% positives
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y)
    result = run_automl(frame, "y", search="random", max_trials=12, budget_seconds=120, seed=1,
                        families=["linear", "lightgbm"])
    searched = [t.params.get("balanced") for t in result.trials if t.number >= 2]  # after the warm starts
    assert True in searched and False in searched
    assert result.holdout_metrics["roc_auc"] > 0.85


def additive(curvature: float, noise: float, rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    """A linear signal in ten columns plus ``curvature`` * (a^2 - 1): a linear model misses the curve, boosted trees
    approximate the sum in steps, so with curvature their errors differ and their average beats both; without it
    the linear model is exact and any blend with trees is worse."""
    rng = np.random.default_rng(seed)
    x, a = rng.normal(size=(rows, 10)), rng.normal(size=rows)
    y = x.sum(axis=1) / np.sqrt(10) * 3 + curvature * (a**2 - 1) + rng.normal(size=rows) * noise
    return pd.DataFrame(x, columns=[f"x{i}" for i in range(10)]).assign(a=a, y=y)


def test_an_ensemble_is_kept_where_it_beats_the_best_trial():
    frame = additive(curvature=0.7, noise=0.3)
    options = {"max_trials": 4, "budget_seconds": 120, "seed": 0, "families": ["linear", "lightgbm"]}
    result = run_automl(frame, "y", **options)
    best_single = min(t.score for t in result.trials if t.score is not None)  # rmse: lower is better
    assert result.family == "ensemble" and isinstance(result.pipeline, Ensemble)
    assert {m["family"] for m in result.ensemble["members"]} == {"linear", "lightgbm"}
    assert result.ensemble["best_single"] == best_single
    assert result.validation_score == result.ensemble["validation_score"] < 0.95 * best_single
    assert abs(sum(m["weight"] for m in result.ensemble["members"]) - 1) < 1e-9
    # the win holds on rows no trial saw: the same search without ensembling scores worse on the holdout
    single = run_automl(frame, "y", **options, ensemble=False)
    assert single.family != "ensemble" and single.ensemble is None
    assert result.holdout_metrics["rmse"] < 0.95 * single.holdout_metrics["rmse"]
    assert result.pipeline.predict(frame.drop(columns="y").head(3)).shape == (3,)


def test_an_ensemble_is_not_kept_where_it_loses():
    result = run_automl(additive(curvature=0.0, noise=0.05), "y", max_trials=4, budget_seconds=120, seed=0,
                        families=["linear", "lightgbm"])
    scores = {t.family: min(u.score for u in result.trials if u.family == t.family) for t in result.trials}
    assert scores["linear"] < 0.2 * scores["lightgbm"]  # the exact model, and trees far behind it
    assert result.ensemble is None and result.family == "linear"
    assert result.validation_score == scores["linear"]


def test_same_data_seed_and_trial_budget_give_the_same_model_and_metrics(cancer):
    runs = [run_automl(cancer, "target", max_trials=11, budget_seconds=300, search="bayesian", seed=7,
                       families=["linear", "lightgbm"]) for _ in range(2)]
    assert len(runs[0].trials) == 11
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]
    assert [t.score for t in runs[0].trials] == [t.score for t in runs[1].trials]
    assert runs[0].family == runs[1].family and runs[0].holdout_metrics == runs[1].holdout_metrics


def mixed_frame(rows: int = 900, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice([f"city{i}" for i in range(60)], size=rows)  # many values: target encoding
    effect = {c: rng.normal() for c in np.unique(city)}
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h")
    words = np.array(["refund", "broken", "great", "slow", "love", "late", "fine", "happy", "angry", "return"])
    text = [" ".join(rng.choice(words, 6)) for _ in range(rows)]
    score = (np.array([effect[c] for c in city]) + (when.month >= 7) * 1.0
             + np.array([t.count("angry") for t in text]) * 0.8 + rng.normal(scale=0.5, size=rows))
    amount = rng.gamma(2.0, 10.0, rows)
    amount[rng.random(rows) < 0.1] = np.nan
    return pd.DataFrame({"order_id": np.arange(rows), "ticket": [f"T-{i:06d}" for i in range(rows)],
                         "city": city, "when": when, "message": text, "amount": amount,
                         "colour": rng.choice(["red", "blue", None], size=rows), "flag": score > 0.8})


def test_preprocessing_covers_every_column_kind_and_drops_identifiers():
    frame = mixed_frame()
    result = run_automl(frame, "flag", max_trials=4, budget_seconds=120, families=["lightgbm", "linear"])
    assert result.dropped == {"order_id": "looks like an identifier (almost every value distinct)",
                              "ticket": "looks like an identifier (almost every value distinct)"}
    how = result.preprocessing
    assert how["city"].startswith("high_cardinality: target encoding")
    assert how["when"].startswith("datetime: calendar parts")
    assert how["message"].startswith("text: TF-IDF")
    assert how["colour"].startswith("category") and how["amount"].startswith("numeric")
    assert result.holdout_metrics["roc_auc"] > 0.8
    # the saved pipeline applies the same transforms to raw rows, unseen categories and missing values included
    rows = frame.drop(columns="flag").head(3).assign(city=["nowhere", None, "city1"], colour=[None, "green", "red"])
    assert result.pipeline.predict_proba(rows).shape == (3, 2)


@pytest.mark.parametrize("method", [m for m in SELECTORS.names() if m != "none"])
def test_each_feature_selection_method_keeps_the_signal_and_says_why(method):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(600, 6)), columns=[f"noise{i}" for i in range(6)])
    frame["signal"] = rng.normal(size=600)
    frame["rare"] = np.where(np.arange(600) < 3, 1.0, 0.0)  # quasi-constant
    y = pd.Series((frame["signal"] + rng.normal(scale=0.3, size=600) > 0).astype(int))
    decisions = {d.column: d for d in select_features(frame, y, "classification", method, keep=0.4)}
    assert set(decisions) == set(frame.columns)
    assert decisions["signal"].kept
    assert all(d.why for d in decisions.values())
    assert sum(not d.kept for d in decisions.values()) >= 1
    if method == "variance":
        assert not decisions["rare"].kept and "quasi-constant" in decisions["rare"].why


def test_the_search_trains_only_on_the_selected_columns():
    frame = mixed_frame(seed=2)
    result = run_automl(frame, "flag", max_trials=2, budget_seconds=120, families=["lightgbm"],
                        feature_selection={"method": "tree", "keep": 0.5})
    kept = [d.column for d in result.selection if d.kept]
    assert set(result.preprocessing) == set(kept) and len(kept) < len(result.features)
    assert result.pipeline.predict(frame.drop(columns="flag").head(2)).shape == (2,)


def test_an_unknown_selection_method_is_refused():
    with pytest.raises(BadInputError, match="Unknown feature selection method 'magic'"):
        run_automl(mixed_frame(), "flag", max_trials=1, feature_selection={"method": "magic"})


@pytest.mark.parametrize(
    ("change", "options", "message"),
    [
        (lambda f: f.assign(target=0), {}, "single class"),
        (lambda f: f.assign(target=np.where(f.index % 7 == 0, np.nan, f["target"])), {}, "missing values"),
        (lambda f: f.assign(target=f["mean radius"]), {"task": "classification"}, "regression target"),
        (lambda f: f[["target"]].assign(a=1.0, b="x"), {}, "No usable feature columns"),
        (lambda f: f.head(40), {"folds": 50}, "too few for 50 folds"),
        (lambda f: f, {"metric": "rmse"}, "does not fit a classification task"),
        (lambda f: f.assign(target=f["mean radius"]), {"metric": "roc_auc"}, "does not fit a regression task"),
    ],
)
def test_bad_inputs_of_part_ten_each_say_what_to_do(cancer, change, options, message):
    with pytest.raises(BadInputError, match=message) as caught:
        run_automl(change(cancer), "target", max_trials=1, budget_seconds=30, **options)
    assert caught.value.exit_code == 2 and caught.value.hint


def test_regression_reports_mape_and_r2():
    frame = load_diabetes(as_frame=True).frame
    result = run_automl(frame, "target", max_trials=3, budget_seconds=120, families=["linear", "lightgbm"])
    assert {"rmse", "mae", "r2", "mape"} <= set(result.holdout_metrics)
    assert 0 < result.holdout_metrics["mape"] < 1
