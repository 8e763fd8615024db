"""The full evaluation's importances keep the training budget by measuring their cost instead of guessing it: SHAP
is timed on a few rows, then runs on the rows the budget leaves (or is skipped, saying why); permutation importance
is priced from the evaluation's own timed predictions. A guess from the basic evaluation's seconds let TreeSHAP of a
30-class LightGBM (10.5 s on 1,000 rows) end a 30 s training at 37 s.

SHAP's cost is put on an injected clock (each explained row costs ROW_SECONDS), so the decisions are checked with
bounded work instead of wall-clock asserts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.train import evaluation
from conveyor.train.automl import run_automl
from conveyor.train.budget import Deadline

ROW_SECONDS = 0.01


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], n)})
    frame["label"] = np.where(frame["a"] - frame["b"] + rng.normal(0, 0.5, n) > 0, "yes", "no")
    return run_automl(frame, "label", families=["lightgbm"], max_trials=1, budget_seconds=120, refit_all=False)


@pytest.fixture()
def clock(monkeypatch):
    """SHAP costs ROW_SECONDS per explained row on this clock; everything else is free on it."""
    fake = FakeClock()
    real = evaluation.model_contributions

    def costly(estimator, matrix):
        fake.now += ROW_SECONDS * matrix.shape[0]
        return real(estimator, matrix)

    monkeypatch.setattr(evaluation, "model_contributions", costly)
    return fake


def evaluate_with(trained, clock, seconds_left: float) -> dict:
    deadline = Deadline(1000.0, clock=clock)
    clock.now += 1000.0 - deadline.after_search() / 2 - seconds_left  # seconds_left beyond the store's share
    return evaluation.evaluate_result(trained, evaluate="full", deadline=deadline)["importance"]


def test_with_time_for_every_row_shap_and_permutation_importance_run_on_all_of_them(trained, clock):
    importance = evaluate_with(trained, clock, seconds_left=100.0)
    rows = min(len(trained.holdout), 1000)
    assert rows == 600  # the holdout: 20% of 3,000
    assert {i["feature"] for i in importance["permutation"]} == {"a", "b", "c"}
    assert {i["feature"] for i in importance["shap"]} == {"a", "b", "c"}
    assert "shap_rows" not in importance and "skipped" not in importance


def test_shap_runs_on_the_rows_the_budget_leaves_it(trained, clock):
    importance = evaluate_with(trained, clock, seconds_left=3.0)  # 600 rows would need 6 s
    # the 20-row probe spent 0.2 s of the 3: 280 rows fit
    assert importance["shap_rows"] == pytest.approx(280, abs=1)
    assert importance["shap"][0]["feature"] in {"a", "b"}  # the label's own inputs lead
    assert importance["permutation"] and "skipped" not in importance


def test_shap_is_skipped_with_the_reason_when_too_few_rows_would_fit(trained, clock):
    importance = evaluate_with(trained, clock, seconds_left=0.8)  # 60 rows after the probe: below SHAP_MIN_ROWS
    assert importance["shap"] is None
    assert importance["skipped"].startswith("the budget was spent before SHAP (about 6.0 s)")
    assert importance["permutation"]  # its predictions are free on this clock: it still ran
