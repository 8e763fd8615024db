"""A boosting trial's rounds, chosen by early stopping on a fold's rows, grow with the rows of the refit (issue 13:
"the number of boosting rounds carried from a fold to the full data"): a fold of 2,133 rows stops sooner than the
fit on 4,000 rows should, and the refit on every row scored better on the benchmark's test rows with more rounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1

from conveyor.train.automl import MAX_ROUNDS_GROWTH, RefitRows, TrialResult, rounds_growth, run_automl
from conveyor.train.families import FAMILIES


def test_rounds_grow_with_the_rows_and_never_shrink():
    assert rounds_growth(1.875) == pytest.approx(1.875)  # as many times the rounds as the rows
    assert rounds_growth(0.5) == 1.0  # a refit on fewer rows keeps the rounds early stopping chose
    assert rounds_growth(10.0) == MAX_ROUNDS_GROWTH  # a small sample of a large table: bounded
    trial = TrialResult(3, "lightgbm", {"n_estimators": 120, "learning_rate": 0.1}, 1.0, 1.0, rounds_rows=1_000)
    assert trial.rounds_for(1_500)["n_estimators"] == 180
    assert trial.rounds_for(1_500)["learning_rate"] == 0.1
    defaults = TrialResult(0, "lightgbm", {"n_estimators": 100}, 1.0, 1.0)  # no early stopping: fitted as they are
    assert defaults.rounds_for(5_000) == {"n_estimators": 100}


def test_the_time_kept_for_the_refits_counts_the_rounds_that_grow_with_their_rows():
    # 3-fold CV in 7,500 training rows (folds of 5,000: 1.5 times), the refit on every row 1.25 times those: an
    # early-stopped booster's refits take 1.5 * 1.5 and 1.875 * 1.875 fold-seconds, not 1.5 and 1.875
    rows = RefitRows(1.5, 1.25)
    assert rows.units(grows=False) == pytest.approx(1.5 + 1.875)
    assert rows.units(grows=True) == pytest.approx(1.5 * 1.5 + 1.875 * 1.875)
    assert rows.units(grows=True, every_row=False) == pytest.approx(1.5 * 1.5)
    assert RefitRows(1.5, 0.0).units(grows=True) == pytest.approx(2.25)  # no refit on every row (a given holdout)
    assert RefitRows(3.0, 1.25).units(grows=True) == pytest.approx(3.0 * 2.0 + 3.75 * 2.0)  # growth bounded


def friedman(rows: int = 4_000) -> pd.DataFrame:
    X, y = make_friedman1(n_samples=rows, noise=1.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(target=y)


def test_the_returned_booster_has_the_early_stopped_rounds_grown_to_its_rows():
    pytest.importorskip("lightgbm")
    result = run_automl(friedman(), "target", task="regression", metric="rmse", budget_seconds=300, max_trials=4,
                        families=["lightgbm"], ensemble=False, seed=0)
    chosen = next(t for t in result.trials if t.params["learning_rate"] == result.params["learning_rate"]
                  and t.state == "complete")
    assert chosen.rounds_rows == 2_133  # a searched trial won: 3 folds of the 3,200 training rows, 2 of them fitted
    assert result.training_rows == 4_000  # refitted on every row: 1.875 times the fold's rows
    expected = round(chosen.params["n_estimators"] * rounds_growth(4_000 / 2_133))
    assert result.pipeline.steps[-1][1].n_estimators == expected == result.params["n_estimators"]
    assert expected > chosen.params["n_estimators"]
    evaluated = result.evaluated_pipeline.steps[-1][1].n_estimators  # the model the holdout metrics are of
    assert evaluated == round(chosen.params["n_estimators"] * rounds_growth(3_200 / 2_133))
    assert np.isfinite(result.holdout_metrics["rmse"])


def test_the_boosting_defaults_get_a_second_trial_whose_rounds_early_stopping_chooses():
    pytest.importorskip("lightgbm")
    pytest.importorskip("xgboost")
    families = ["linear", "lightgbm", "xgboost"]
    result = run_automl(friedman(), "target", task="regression", metric="rmse", budget_seconds=300, max_trials=5,
                        families=families, seed=0)
    defaults, rounds = result.trials[:3], result.trials[3:]
    assert [t.family for t in defaults] == ["lightgbm", "xgboost", "linear"]  # boosting first on 3,200 rows
    assert all(t.rounds_rows is None for t in defaults)  # fitted as the libraries' defaults: 100 rounds
    assert [t.family for t in rounds] == ["lightgbm", "xgboost"]  # before anything the sampler draws
    lightgbm, xgboost = rounds
    assert {k: v for k, v in lightgbm.params.items() if k != "n_estimators"} == {
        k: v for k, v in FAMILIES.get("lightgbm").defaults.items() if k != "n_estimators"}  # reg_lambda 0 included
    assert xgboost.params["learning_rate"] == 0.1 and xgboost.params["max_depth"] == 6
    for trial in rounds:
        assert trial.rounds_rows == 2_133 and 100 < trial.params["n_estimators"] < 1000  # early stopping chose
    # friedman's smooth surface wants more than 100 rounds: the early-stopped defaults beat the plain ones
    assert lightgbm.score < defaults[0].score and xgboost.score < defaults[1].score


def test_a_grid_search_tries_its_grid_only():
    pytest.importorskip("lightgbm")
    result = run_automl(friedman(1_000), "target", task="regression", metric="rmse", budget_seconds=300,
                        max_trials=3, families=["lightgbm"], search="grid", seed=0)
    assert len(result.trials) == 3
    assert all(t.params["num_leaves"] in (15, 63) for t in result.trials)  # the grid's; a rounds trial has 31


def test_on_small_data_the_rounds_stay_as_early_stopping_chose_them():
    # up to 3,000 training rows the folds hold 80% of every row and trials are cheap: no rounds trials, no growth
    # (on the benchmark's small sets 1.25 times the rounds scored better in about as many refits as worse)
    pytest.importorskip("lightgbm")
    result = run_automl(friedman(2_000), "target", task="regression", metric="rmse", budget_seconds=300, max_trials=4,
                        families=["lightgbm"], ensemble=False, seed=0)
    searched = [t for t in result.trials if t.number > 0 and t.state == "complete"]
    assert searched and all(t.params["num_leaves"] != 31 or t.params["learning_rate"] != 0.1 for t in searched)
    assert all(t.rounds_rows is None for t in result.trials)
    assert result.pipeline.steps[-1][1].n_estimators == result.params["n_estimators"]
    chosen = next(t for t in result.trials if t.params["learning_rate"] == result.params["learning_rate"])
    assert result.params["n_estimators"] == chosen.params["n_estimators"]


class StoppedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_whether_the_refit_on_every_row_fits_counts_the_rounds_that_grow_with_the_rows():
    # the ensemble's choice asks this too: counting the refit without its grown rounds chose ensembles on
    # flights_carrier and flights_dest at 60 s whose refit on every row then did not fit (the best model alone did)
    from conveyor.train.automl import every_row_refit_fits
    from conveyor.train.budget import Deadline

    booster = TrialResult(1, "lightgbm", {"n_estimators": 300}, 1.0, 1.0, rounds_rows=3_000)
    linear = TrialResult(2, "linear", {"C": 1.0}, 1.0, 1.0)
    deadline = Deadline(10.0, started=0.0, clock=StoppedClock(3.5))

    def fits(members, holdout_seconds=0.0):
        return every_row_refit_fits(deadline, 1.0, 0.0, members, 4.0, holdout_seconds, rows=5_000,
                                    training_rows=4_000)

    # 4 s on 4,000 rows: 5 s on 5,000 rows with the same rounds, 6.25 s with 1.25 times as many (5,000 / 3,000
    # against 4,000 / 3,000); 0.5 s kept for the evaluation and the store
    assert fits([linear])  # 3.5 + 5 + 0.5 = 9 s
    assert not fits([booster])  # 3.5 + 6.25 + 0.5 = 10.25 s
    assert not fits([linear, booster])  # an ensemble's members: the most grown
    # and a model whose holdout metrics were slow is slow to evaluate and store: 0.5 + 4 x 0.4 s kept
    assert not fits([linear], holdout_seconds=0.4)
