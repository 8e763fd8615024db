"""AutoML: searches over the three families, honest holdout metrics, reproducibility, bad targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.train.automl import run_automl
from conveyor.train.budget import parse_budget


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


def with_category(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return frame.assign(site=rng.choice(["north", "south", None], size=len(frame)))


def test_bayesian_search_tries_every_family_and_beats_chance(cancer):
    result = run_automl(with_category(cancer), "target", max_trials=6, budget_seconds=600, seed=1)
    assert {t.family for t in result.trials} == {"lightgbm", "linear", "random_forest", "xgboost",
                                                 "hist_gradient_boosting", "extra_trees"}
    assert result.task == "classification" and result.metric == "roc_auc"
    assert result.holdout_metrics["roc_auc"] > 0.95
    assert result.pipeline.predict(with_category(cancer).drop(columns="target").head()).shape == (5,)


def test_same_seed_and_trials_give_the_same_model(cancer):
    families = ["linear", "lightgbm", "random_forest"]
    a = run_automl(cancer, "target", max_trials=5, budget_seconds=120, search="random", seed=3, families=families)
    b = run_automl(cancer, "target", max_trials=5, budget_seconds=120, search="random", seed=3, families=families)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert a.holdout_metrics == b.holdout_metrics


def test_grid_search_on_regression():
    frame = load_diabetes(as_frame=True).frame
    result = run_automl(frame, "target", search="grid", max_trials=4, budget_seconds=120)
    assert result.task == "regression" and result.metric == "rmse"
    assert len(result.trials) == 4
    assert result.holdout_metrics["r2"] > 0.2


@pytest.mark.parametrize(
    ("change", "target", "error", "message"),
    [
        (lambda f: f, "nope", NotFoundError, "Unknown target column 'nope'"),
        (lambda f: f.assign(target=np.where(f.index < 5, np.nan, f["target"])), "target", BadInputError,
         "missing values"),
        (lambda f: f.assign(target=1), "target", BadInputError, "single class"),
        (lambda f: f[["target"]].assign(c=1.0), "target", BadInputError, "No usable feature"),
        (lambda f: f.iloc[[0, 1, 2, 19, 20, 21]], "target", BadInputError, "too few"),
    ],
)
def test_bad_targets_and_data_say_what_to_do(cancer, change, target, error, message):
    with pytest.raises(error, match=message):
        run_automl(change(cancer), target, max_trials=2, budget_seconds=30)


def test_metric_must_fit_the_task(cancer):
    with pytest.raises(BadInputError, match="does not fit a classification task"):
        run_automl(cancer, "target", metric="rmse", max_trials=1)
    with pytest.raises(BadInputError, match="Unknown search"):
        run_automl(cancer, "target", search="genetic", max_trials=1)


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60), ("2m", 120), ("1h", 3600), ("45", 45), (1.5, 1.5)])
def test_budgets(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5s", "0"])
def test_bad_budgets(text):
    with pytest.raises(BadInputError, match=r"[Bb]udget"):
        parse_budget(text)


def test_integer_classes_keep_numeric_order():
    rng = np.random.default_rng(1)
    x = rng.normal(size=600)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=600), "y": np.where(x > 0, 10, 2)})
    result = run_automl(frame, "y", max_trials=2, budget_seconds=60)
    assert result.classes == [2, 10]
    assert result.holdout_metrics["roc_auc"] > 0.95  # not inverted by sorting 10 before 2
    three = frame.assign(y=np.select([x < -0.5, x < 0.5], [1, 2], 10))
    assert run_automl(three, "y", max_trials=2, budget_seconds=60).holdout_metrics["accuracy"] > 0.8


def test_an_identifier_like_text_target_is_refused_with_a_fix():
    frame = pd.DataFrame({"x": range(300), "when": [f"2024-01-{i:03d}" for i in range(300)]})
    with pytest.raises(BadInputError, match="300 distinct labels") as caught:
        run_automl(frame, "when", max_trials=1)
    assert "--task regression" in str(caught.value) and len(str(caught.value)) < 300


def test_only_a_target_column_says_so():
    with pytest.raises(BadInputError, match="only the target column"):
        run_automl(pd.DataFrame({"y": [0, 1] * 20}), "y", max_trials=1)
