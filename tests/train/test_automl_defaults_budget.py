"""AutoML never ends worse than the defaults it starts from, and keeps the budget it was given (issue 13).

The budget tests inject a clock: a stub family's every fit costs a fixed number of fake seconds, so the deadline's
decisions (stop starting trials, keep time for the refit, cut what would overrun) are checked with bounded work
instead of wall-clock asserts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from conveyor.core.errors import BadInputError
from conveyor.evaluate.metrics import evaluate_model
from conveyor.train.automl import (
    AFTER_HOLDOUT,
    RefitRows,
    TrialResult,
    _context,
    _refittable_on_every_row,
    choose_best,
    compared_trials,
    default_trial,
    library_defaults,
    relative_gap,
    run_automl,
)
from conveyor.train.budget import OVERHEAD, Deadline
from conveyor.train.divergence import diverged
from conveyor.train.families import FAMILIES, Family, SearchContext, warm_start_order


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


CLOCK = FakeClock()
FIT_SECONDS = 2.0  # what each fit of the stub family costs on CLOCK


class _Costly:
    """A dummy model whose every fit costs FIT_SECONDS on the injected clock."""

    def fit(self, X, y):
        CLOCK.advance(FIT_SECONDS)
        return super().fit(X, y)


class CostlyRegressor(_Costly, DummyRegressor):
    pass


class CostlyFamily(Family):
    name = "costly_stub"
    tasks = ("regression",)
    requires = ()
    defaults = {"strategy": "mean"}
    default = False  # only where a test names it

    def suggest(self, trial, ctx):
        return {"strategy": trial.suggest_categorical("costly_stub.strategy", ["mean", "median"])}

    def build(self, ctx, params, seed):
        return CostlyRegressor(strategy=params["strategy"])


FAMILIES.register("costly_stub", CostlyFamily(), replace=True)


class CostlyStubTwo(CostlyFamily):
    name = "costly_stub_two"

    def suggest(self, trial, ctx):
        return {"strategy": trial.suggest_categorical(f"{self.name}.strategy", ["mean", "median"])}


class CostlyStubThree(CostlyStubTwo):
    name = "costly_stub_three"


FAMILIES.register("costly_stub_two", CostlyStubTwo(), replace=True)
FAMILIES.register("costly_stub_three", CostlyStubThree(), replace=True)


class CostlyTree(_Costly, DecisionTreeRegressor):
    pass


class CostlyTreeFamily(Family):
    """A slow family that is the right model for a step-shaped target (the linear model is not): as LightGBM's
    defaults on 30 classes, its k folds do not fit a short budget, but one fold does."""

    name = "costly_tree"
    tasks = ("regression",)
    requires = ()
    defaults = {"max_depth": 3}
    default = False

    def suggest(self, trial, ctx):
        return {"max_depth": trial.suggest_int("costly_tree.max_depth", 1, 6)}

    def build(self, ctx, params, seed):
        return CostlyTree(max_depth=params["max_depth"], random_state=seed)


FAMILIES.register("costly_tree", CostlyTreeFamily(), replace=True)


class CostlyTreeFirst(CostlyTreeFamily):
    name = "costly_tree_first"
    warm_start = -1  # its defaults are tried before the linear model's


FAMILIES.register("costly_tree_first", CostlyTreeFirst(), replace=True)


FIT_ROWS: list[int] = []  # the rows each fit of the recording stub saw, in order


class RecordingRegressor(DummyRegressor):
    def fit(self, X, y):
        FIT_ROWS.append(len(X))
        return super().fit(X, y)


class RecordingFamily(Family):
    name = "recording_stub"
    tasks = ("regression",)
    requires = ()
    defaults = {"strategy": "mean"}
    default = False

    def suggest(self, trial, ctx):
        return {"strategy": trial.suggest_categorical("recording_stub.strategy", ["mean", "median"])}

    def build(self, ctx, params, seed):
        return RecordingRegressor(strategy=params["strategy"])


FAMILIES.register("recording_stub", RecordingFamily(), replace=True)


def regression_rows(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(0, 0.5, n))


def test_evenly_split_classes_are_not_imbalanced():
    # seven equal classes hold 14% each: below the binary threshold of 20%, but not imbalanced
    seven = pd.Series(np.repeat(np.arange(7), 30))
    assert not _context("classification", list(range(7)), seven).imbalanced
    skewed = pd.Series([0] * 190 + [1] * 20)
    assert _context("classification", [0, 1], skewed).imbalanced


def test_the_defaults_trials_fix_class_weighting_off():
    ctx = SearchContext("classification", 2, imbalanced=True)
    lightgbm = FAMILIES.get("lightgbm")
    assert default_trial(lightgbm, ctx) == {"family": "lightgbm", "lightgbm.balanced": False,
                                            **{f"lightgbm.{k}": v for k, v in lightgbm.recorded_defaults.items()}}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_lightgbm_defaults_trial_fits_exactly_the_library_s_defaults(task):
    # the search space's log scale starts reg_lambda at 1e-3; the library's 0 moved segment's test log-loss
    # 0.0387 -> 0.0505. The trial records the space's nearest point and fits the library's own values
    import lightgbm as lgb

    family = FAMILIES.get("lightgbm")
    ctx = SearchContext(task, 0 if task == "regression" else 3)
    proposed = {k.split(".", 1)[1]: v for k, v in default_trial(family, ctx).items() if k != "family"}
    fitted = family.build(ctx, library_defaults(family, proposed), seed=0).get_params()
    library = (lgb.LGBMRegressor() if task == "regression" else lgb.LGBMClassifier()).get_params()
    ours = {"n_jobs", "random_state", "verbose"}  # single-threaded, seeded and quiet by design
    assert {k: v for k, v in fitted.items() if k not in ours} == {k: v for k, v in library.items() if k not in ours}


def test_the_defaults_trials_are_the_library_defaults_on_the_same_folds():
    cancer = load_breast_cancer(as_frame=True).frame
    skewed = pd.concat([cancer[cancer.target == 1], cancer[cancer.target == 0].head(40)])  # 11% minority
    result = run_automl(skewed, "target", metric="log_loss", families=["lightgbm", "linear"], max_trials=4,
                        budget_seconds=300, seed=0, ensemble=False)
    # the cheapest defaults first: they finish on the tightest budget (LightGBM's 100 rounds per class can take long
    # on many classes, and their log-loss can be far worse than a linear model's)
    assert [t.family for t in result.trials[:2]] == ["linear", "lightgbm"]
    first = {t.family: t for t in result.trials[:2]}
    # fitted as the library would (no rounds chosen on the scored fold), unweighted, scored on every fold
    assert first["lightgbm"].params == {**FAMILIES.get("lightgbm").defaults, "balanced": False}
    assert first["lightgbm"].params["reg_lambda"] == 0.0  # the library's, not the search space's floor
    assert first["linear"].params == {**FAMILIES.get("linear").defaults, "balanced": False}
    assert all(len(t.fold_scores) == 5 and t.state == "complete" for t in first.values())


def test_the_returned_model_is_never_worse_than_the_defaults_on_validation():
    # a linear target with noise: the linear model's defaults are hard to beat
    result = run_automl(regression_rows(), "y", metric="rmse", families=["linear", "lightgbm", "random_forest"],
                        max_trials=8, budget_seconds=300, seed=0)
    defaults = [t for t in result.trials[:3] if t.state == "complete"]
    assert len(defaults) == 3
    assert result.validation_score <= min(t.score for t in defaults) + 1e-12


def test_the_final_model_is_refitted_on_every_row_and_the_metrics_are_of_the_evaluated_one():
    frame = regression_rows()
    result = run_automl(frame, "y", families=["linear"], max_trials=2, budget_seconds=300, seed=0)
    assert result.training_rows == len(frame)
    assert result.refit == "all rows (training and holdout)"
    assert result.pipeline is not result.evaluated_pipeline
    def rows_seen(pipeline) -> int:
        numeric = dict((name, step) for name, step, _ in pipeline.named_steps["prep"].transformers_)["numeric"]
        return int(numeric.named_steps["scale"].n_samples_seen_)

    assert rows_seen(result.pipeline) == len(frame)
    assert rows_seen(result.evaluated_pipeline) == len(frame) - len(result.holdout)
    again = evaluate_model(result.evaluated_pipeline, result.holdout[["a", "b", "c", "d", "y"]], "y", "regression", [])
    assert again == pytest.approx(result.holdout_metrics)


def test_a_given_holdout_keeps_the_training_rows():
    frame = regression_rows()
    result = run_automl(frame.iloc[:300], "y", families=["linear"], max_trials=2, budget_seconds=300,
                        holdout=frame.iloc[300:])
    assert result.training_rows == 300 and result.pipeline is result.evaluated_pipeline


@pytest.mark.parametrize("budget", [60.0, 120.0, 240.0])
def test_the_search_leaves_time_for_the_refit_and_ends_within_the_budget(budget):
    deadline = Deadline(budget, clock=CLOCK)
    result = run_automl(regression_rows(200), "y", families=["costly_stub"], folds=4, budget_seconds=budget,
                        deadline=deadline, ensemble=False)
    # what is left is the evaluation's and the store's share
    assert deadline.elapsed() <= budget - deadline.after_search()
    # the search used the budget, not a fraction of it: trials kept starting while they fit
    completed = [t for t in result.trials if t.state == "complete"]
    assert len(completed) * 4 * FIT_SECONDS >= budget / 3
    assert result.timings["search"] >= len(completed) * 4 * FIT_SECONDS
    assert result.timings["refit"] == FIT_SECONDS and result.timings["refit_all"] == FIT_SECONDS
    assert result.training_rows == 200


PREDICT_SECONDS = {"each": 0.0}  # what each predict call of the slow-predicting stub costs on CLOCK


class SlowPredictor(CostlyRegressor):
    """A costly stub whose predictions cost time too: as a 30-class LightGBM, whose evaluation and storing (a second
    pass over the holdout, the latency probe, serializing, the reference statistics' predictions) take seconds."""

    def predict(self, X):
        CLOCK.advance(PREDICT_SECONDS["each"])
        return super().predict(X)


class SlowPredictorFamily(CostlyFamily):
    name = "slow_predictor_stub"

    def build(self, ctx, params, seed):
        return SlowPredictor(strategy=params["strategy"])


FAMILIES.register("slow_predictor_stub", SlowPredictorFamily(), replace=True)


@pytest.mark.parametrize(("predict_seconds", "every_row"), [(0.0, True), (1.0, False)])
def test_the_refit_on_every_row_leaves_time_to_evaluate_and_store_a_model_as_slow_as_its_holdout_showed(
        predict_seconds, every_row, monkeypatch):
    # one trial, its refit and holdout metrics end at 6 s of 10; refitting on every row would end at 9 s. A model
    # whose holdout metrics took 1 s needs about AFTER_HOLDOUT of them more to be evaluated and stored: 9 + 4 > 10
    monkeypatch.setitem(PREDICT_SECONDS, "each", predict_seconds)
    deadline = Deadline(10.0, clock=CLOCK)
    result = run_automl(regression_rows(200), "y", families=["slow_predictor_stub"], folds=2, budget_seconds=10.0,
                        deadline=deadline, ensemble=False)
    assert result.timings["holdout"] == predict_seconds
    if every_row:
        assert result.refit.startswith("all rows") and result.training_rows == 200
    else:
        assert result.refit.startswith("training rows (refitting on all rows would overrun")
        assert result.training_rows == 160 and "refit_all" not in result.timings
        assert deadline.remaining() >= AFTER_HOLDOUT * result.timings["holdout"]


def test_the_first_trial_always_finishes_and_the_rest_is_cut_to_the_budget():
    deadline = Deadline(6.5, clock=CLOCK)  # one fold (2 s) plus its refit nearly fills it; a second fold does not fit
    result = run_automl(regression_rows(200), "y", families=["costly_stub"], folds=2, budget_seconds=6.5,
                        deadline=deadline, ensemble=False)
    # the defaults trial is scored on the fold that fits instead of being cut
    assert result.trials[0].state == "complete" and result.trials[0].partial
    assert len(result.trials[0].fold_scores) == 1
    assert len(result.trials) == 1  # a second trial would overrun: it is not started
    # refitting on every row would end past the budget: the model keeps the training rows, and says so
    assert result.refit.startswith("training rows (refitting on all rows would overrun")
    assert deadline.elapsed() <= 6.5 * (1 + OVERHEAD)


def test_a_deadline_runs_from_its_start_and_records_each_phase():
    deadline = Deadline(10.0, started=CLOCK() - 3.0, clock=CLOCK)  # the process started 3 s ago
    assert deadline.remaining() == pytest.approx(7.0)
    with deadline.phase("search"):
        CLOCK.advance(2.5)
    with deadline.phase("search"):
        CLOCK.advance(0.5)
    assert deadline.timings == {"search": 3.0}
    assert deadline.record() == {"search": 3.0, "total": 6.0, "budget": 10.0}
    assert deadline.fits(3.0) and not deadline.fits(3.0, keep=1.5)


def test_a_run_stores_its_timings_and_a_basic_evaluation_skips_the_importances(tmp_path):
    import conveyor as cv

    with cv.Project.init(tmp_path) as project:
        project.configure("train", families=["linear"])
        dataset, _ = project.data.ingest(regression_rows(), "values")
        result = project.training.train(dataset, "y", max_trials=2, budget=120, evaluate="basic")
        with pytest.raises(BadInputError, match="Unknown evaluation 'everything'"):
            project.training.train(dataset, "y", max_trials=1, budget=60, evaluate="everything")
    timings = {k.removeprefix("timing."): v for k, v in result.run.metrics.items() if k.startswith("timing.")}
    assert {"load", "search", "refit", "holdout", "refit_all", "evaluate", "store", "total", "budget"} <= set(timings)
    assert timings["budget"] == 120 and timings["total"] >= timings["search"] + timings["refit"]
    assert result.evaluation["evaluate"] == "basic" and "skipped" in result.evaluation["importance"]
    assert result.run.params["evaluate"] == "basic"
    assert result.run.params["refit"] == "all rows (training and holdout)"


def test_train_command_takes_evaluate_and_reports_its_timings(tmp_path):
    import json
    import subprocess
    import sys

    def conveyor(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)

    regression_rows().to_csv(tmp_path / "values.csv", index=False)
    assert conveyor("init").returncode == 0
    assert conveyor("data", "ingest", "values.csv", "--name", "values").returncode == 0
    done = conveyor("train", "values", "--target", "y", "--trials", "2", "--budget", "5m", "--evaluate", "basic",
                    "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"search", "refit", "holdout", "evaluate", "store"} <= set(out["timings"])
    assert out["refit"] == "all rows (training and holdout)"
    bad = conveyor("train", "values", "--target", "y", "--trials", "1", "--evaluate", "everything")
    assert bad.returncode == 2 and "Unknown evaluation 'everything'" in bad.stderr


STARTUP_ALLOWANCE = 0.5  # seconds: spawning the interpreter before /proc dates the process's start (docs/training.md)


@pytest.mark.slow
@pytest.mark.serial  # its wall time is the thing tested: never beside another test process
def test_a_train_command_ends_within_its_budget_and_the_stated_overhead(tmp_path):
    import subprocess
    import sys
    import time

    regression_rows(600).to_csv(tmp_path / "values.csv", index=False)
    for args in (["init"], ["data", "ingest", "values.csv", "--name", "values"]):
        assert subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=tmp_path, capture_output=True,
                              timeout=300).returncode == 0
    # the command's fixed cost is its imports (3 CPU s; 10-15 s of wall when a 2-core machine runs ten processes):
    # the budget is three times what they take here and now, at least 10 s, so the search gets most of it
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", "import conveyor.cli.app, conveyor.train.trainer, "
                    "conveyor.monitor.monitoring, conveyor.registry.flavors.sklearn as s; s.prepare_dump()"],
                   check=True, timeout=300)
    budget = round(max(10.0, 3 * (time.monotonic() - began)))
    began = time.monotonic()
    # the default settings: every default family, the default evaluation, storing the run and its reference stats
    done = subprocess.run([sys.executable, "-m", "conveyor", "train", "values", "--target", "y", "--budget",
                           f"{budget:g}s", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    timings = __import__("json").loads(done.stdout)["timings"]
    assert wall <= budget * (1 + OVERHEAD) + STARTUP_ALLOWANCE, (wall, budget, str(timings))
    assert timings["search"] > 0 and "evaluate" in timings and "store" in timings


def test_on_tiny_multiclass_data_the_search_ends_at_least_as_good_as_every_default():
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame  # 178 rows, 3 classes: the linear defaults are hard to beat on log-loss
    result = run_automl(wine, "target", metric="log_loss", families=["linear", "lightgbm"], max_trials=4,
                        budget_seconds=300, seed=0)
    defaults = {t.family: t for t in result.trials[:2]}
    assert set(defaults) == {"linear", "lightgbm"}
    assert all(t.state == "complete" and len(t.fold_scores) == 5 for t in defaults.values())
    assert result.validation_score <= min(t.score for t in defaults.values()) + 1e-12


def step_rows(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=4.0 * (X[:, 0] > 0.3) + rng.normal(0, 0.3, n))


def test_a_defaults_trial_whose_folds_do_not_fit_is_scored_on_the_first_fold_and_can_win():
    # linear's defaults first (fast: no fake seconds), then the slow tree's: one fold costs 2 s of the 12 s, its three
    # folds and its refit would not fit, so before this fix it was cut unscored and the linear model returned
    deadline = Deadline(12.0, clock=CLOCK)
    result = run_automl(step_rows(), "y", metric="rmse", families=["linear", "costly_tree"], folds=3, max_trials=2,
                        budget_seconds=12.0, deadline=deadline, ensemble=False)
    linear, tree = result.trials
    assert (linear.family, tree.family) == ("linear", "costly_tree")
    assert linear.state == "complete" and not linear.partial and len(linear.fold_scores) == 3
    assert tree.state == "complete" and tree.partial and tree.fold_scores == [tree.score]
    # every trial compared on the first fold, the split they share; the returned model is the best default there
    assert result.validation == "first fold of 3-fold CV (a defaults trial could not fit every fold)"
    assert result.family == "costly_tree" and result.validation_score == tree.fold_scores[0]
    assert result.validation_score <= min(linear.fold_scores[0], tree.fold_scores[0])
    assert result.holdout_metrics["rmse"] < 0.6  # the step is learnt (a line's RMSE here is about 1.1)
    assert deadline.elapsed() <= 12.0


def test_when_every_fold_fits_the_defaults_are_scored_on_every_fold():
    deadline = Deadline(120.0, clock=CLOCK)
    result = run_automl(step_rows(), "y", metric="rmse", families=["linear", "costly_tree"], folds=3, max_trials=2,
                        budget_seconds=120.0, deadline=deadline, ensemble=False)
    assert [len(t.fold_scores) for t in result.trials] == [3, 3] and not any(t.partial for t in result.trials)
    assert result.validation == "3-fold CV" and result.family == "costly_tree"
    assert result.validation_score == min(t.score for t in result.trials)


def test_boosting_defaults_go_first_on_many_rows_or_many_classes():
    families = [FAMILIES.get(name) for name in ("linear", "lightgbm", "random_forest")]
    names = lambda ctx, rows: [f.name for f in warm_start_order(families, ctx, rows)]  # noqa: E731
    assert names(SearchContext("classification", 2), 400) == ["linear", "lightgbm", "random_forest"]
    assert names(SearchContext("classification", 30), 400) == ["lightgbm", "linear", "random_forest"]
    assert names(SearchContext("regression"), 5_000) == ["lightgbm", "linear", "random_forest"]


def test_a_slow_first_default_leaves_time_to_score_the_next_family_s_defaults():
    # the slow tree's defaults first: one fold (2 s) of the 14 s, then scored on that fold only. The linear defaults
    # still start: they need the tree's refit kept (about 6.5 s), not also the optional refit on every row (about
    # 12 s), which would have left them unscored; on a linear target they win on the fold both were scored on
    deadline = Deadline(14.0, clock=CLOCK)
    result = run_automl(regression_rows(300), "y", metric="rmse", families=["linear", "costly_tree_first"], folds=3,
                        max_trials=2, budget_seconds=14.0, deadline=deadline, ensemble=False)
    tree, linear = result.trials
    assert (tree.family, linear.family) == ("costly_tree_first", "linear")
    assert tree.state == "complete" and tree.partial and len(tree.fold_scores) == 1
    assert linear.state == "complete" and len(linear.fold_scores) == 3
    assert result.family == "linear" and linear.fold_scores[0] < tree.fold_scores[0]
    # the tree, far behind on the one fold it was scored on, is set aside: the rest are compared on every fold
    assert result.validation == "3-fold CV" and result.validation_score == linear.score
    assert deadline.elapsed() <= 14.0


def test_cross_validation_runs_on_every_labelled_row_and_the_evaluated_model_never_sees_the_holdout():
    # folds of 80% of all rows rank the families as the final fit on every row does (folds of 64% of them, the
    # training rows' 80%, ranked the linear model above LightGBM's defaults on digits where the test rows disagree)
    FIT_ROWS.clear()
    result = run_automl(regression_rows(200), "y", families=["recording_stub"], folds=5, max_trials=1,
                        budget_seconds=300, seed=0, ensemble=False)
    assert len(result.holdout) == 40
    assert FIT_ROWS[:5] == [160] * 5  # each fold: 4/5 of all 200 rows (before: 4/5 of the 160 training rows, 128)
    assert FIT_ROWS[5:] == [160, 200]  # the evaluated model: the training rows only; the returned one: every row
    assert result.training_rows == 200 and result.pipeline is not result.evaluated_pipeline


def test_after_two_defaults_a_further_defaults_trial_keeps_the_refit_on_every_row():
    # three stub families, each fit 2 s, 2 folds: the first two defaults trials run on the training rows' refit
    # reserve alone; the third would need the reserve of both refits (about 13 s) and does not start. Before, it
    # started on the smaller reserve, and on a real machine the refit on every row was the part then skipped
    deadline = Deadline(22.0, clock=CLOCK)
    result = run_automl(regression_rows(200), "y", families=["costly_stub", "costly_stub_two", "costly_stub_three"],
                        folds=2, budget_seconds=22.0, deadline=deadline, ensemble=False)
    assert [t.family for t in result.trials] == ["costly_stub", "costly_stub_two"]
    assert all(t.state == "complete" and not t.partial for t in result.trials)
    assert result.refit == "all rows (training and holdout)"
    assert deadline.elapsed() <= 22.0


def step_and_slope(step: float, seed: int, rows: int = 300) -> pd.DataFrame:
    """A step in one column (a tree's shape) plus a slope in another (a linear model's), with noise of 0.3."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    return pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        y=step * (X[:, 0] > 0.3) + 1.0 * X[:, 1] + rng.normal(0, 0.3, rows))


def linear_beside_a_tree(step: float, tree: str, budget: float) -> tuple:
    """The linear defaults and a tree family's on 300 rows of a step of ``step`` plus a slope, 3 folds, the clock
    injected: the result and its deadline."""
    deadline = Deadline(budget, clock=CLOCK)
    result = run_automl(step_and_slope(step=step, seed=0), "y", metric="rmse", families=["linear", tree], folds=3,
                        max_trials=2, budget_seconds=budget, deadline=deadline)
    return result, deadline


def test_a_first_fold_comparison_can_still_end_in_an_ensemble_chosen_on_that_fold():
    # a step plus a slope: the tree learns the step, the linear model the slope, their mean beats both. The slow
    # tree's defaults are scored on the first fold only; the ensemble is chosen on that fold's rows, with the
    # requested metric, and kept only where it beats every single trial there (before: no ensemble at all)
    result, deadline = linear_beside_a_tree(2.0, "costly_tree", 14.0)
    linear, tree = result.trials
    assert tree.partial and not linear.partial
    assert result.validation.startswith("first fold of 3-fold CV")
    assert result.family == "ensemble"
    assert {m["family"] for m in result.ensemble["members"]} == {"linear", "costly_tree"}
    assert result.validation_score < min(linear.fold_scores[0], tree.fold_scores[0])
    assert deadline.elapsed() <= 14.0


def test_on_more_rows_than_the_threshold_the_folds_stay_inside_the_training_rows(monkeypatch):
    import conveyor.train.automl as automl

    monkeypatch.setattr(automl, "CV_ON_EVERY_ROW", 100)  # 160 training rows count as "more rows" here
    FIT_ROWS.clear()
    result = run_automl(regression_rows(200), "y", families=["recording_stub"], folds=5, max_trials=1,
                        budget_seconds=300, seed=0, ensemble=False)
    assert FIT_ROWS[:5] == [128] * 5  # 4/5 of the 160 training rows: each fold costs no more than before
    assert FIT_ROWS[5:] == [160, 200] and result.training_rows == 200


DIVERGE_ABOVE = {"rows": 0}  # the diverging stub fits sanely on at most this many rows
FITTED_ROWS: list[int] = []  # the rows of each fit of the diverging stub


def _diverging_classifier():
    """LightGBM that fits sanely on the folds and diverges on the refit: above ``DIVERGE_ABOVE`` rows (more than any
    fold holds) it boosts with an absurd learning rate, as LightGBM's 15-class defaults did on flights_carrier (0.90
    on their fold, 18 on the holdout)."""
    import lightgbm as lgb

    class Diverging(lgb.LGBMClassifier):
        def fit(self, X, y, **kwargs):
            FITTED_ROWS.append(len(X))
            if len(X) > DIVERGE_ABOVE["rows"]:
                self.set_params(learning_rate=50.0)
            return super().fit(X, y, **kwargs)

    return Diverging


class DivergingFamily(Family):
    name = "diverging_stub"
    tasks = ("classification",)
    requires = (("lightgbm", "train"),)
    defaults = {"num_leaves": 7}
    default = False
    warm_start = -1  # scored first

    def suggest(self, trial, ctx):
        return {"num_leaves": trial.suggest_int("diverging_stub.num_leaves", 4, 15)}

    def build(self, ctx, params, seed):
        return _diverging_classifier()(num_leaves=params["num_leaves"], n_jobs=1, verbose=-1, random_state=seed)


FAMILIES.register("diverging_stub", DivergingFamily(), replace=True)


def three_steps(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Three classes set by thresholds: trees get them right, a linear model only roughly."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)


@pytest.mark.parametrize("max_trials", [3, 1])
def test_a_model_that_diverges_on_the_holdout_is_replaced_by_the_next_sane_candidate(max_trials):
    # the holdout given, so the folds fit 80% of the 480 training rows (384) and the refit all 480: only the refit
    # diverges. With 3 trials the linear defaults were scored and are the next candidate; with 1 trial they never
    # ran, and are fitted as the fallback
    frame = three_steps()
    train, holdout = frame.iloc[:480], frame.iloc[480:]
    DIVERGE_ABOVE["rows"] = 400
    result = run_automl(train, "y", task="classification", metric="log_loss", holdout=holdout,
                        families=["diverging_stub", "linear"], max_trials=max_trials, budget_seconds=300, seed=0,
                        ensemble=False)
    stub = [t for t in result.trials if t.family == "diverging_stub" and t.state == "complete"]
    assert stub and stub[0].score < 0.5  # sane on its folds: the search ranks it first
    assert result.family == "linear"
    assert result.fallback is not None and "diverged" in result.fallback
    if max_trials == 1:  # the linear defaults never ran in the search: their score is the holdout's, and says so
        assert result.validation.startswith("holdout (a fallback")
        assert result.validation_score == result.holdout_metrics["log_loss"]
    assert result.holdout_metrics["log_loss"] < 1.0  # the constant prediction scores ~1.05 here
    assert evaluate_model(result.pipeline, holdout, "y", "classification", result.classes)["log_loss"] < 1.0


def test_a_model_that_diverged_on_its_folds_is_replaced_without_being_refitted():
    # diverged on every fit, its folds' included: worse in validation than the class shares, so the 480-row refit
    # would only be thrown away; the linear defaults replace it at once
    frame = three_steps()
    train, holdout = frame.iloc[:480], frame.iloc[480:]
    DIVERGE_ABOVE["rows"] = 0
    FITTED_ROWS.clear()
    result = run_automl(train, "y", task="classification", metric="log_loss", holdout=holdout,
                        families=["diverging_stub", "linear"], max_trials=1, budget_seconds=300, seed=0,
                        ensemble=False)
    assert [t.family for t in result.trials] == ["diverging_stub"] and result.trials[0].score > 1.1
    assert FITTED_ROWS and max(FITTED_ROWS) < 480  # its folds only: never refitted on the training rows
    assert result.family == "linear" and result.training_rows == 480
    assert result.fallback is not None and "worse than a constant prediction" in result.fallback
    assert "not refitted; replaced by linear defaults (not validated" in result.fallback
    assert result.validation.startswith("holdout (a fallback")
    assert result.holdout_metrics["log_loss"] < 1.0


def test_a_sane_model_is_kept_and_small_losses_moving_are_not_divergence():
    frame = three_steps()
    train, holdout = frame.iloc[:480], frame.iloc[480:]
    DIVERGE_ABOVE["rows"] = 10_000  # never diverges
    result = run_automl(train, "y", task="classification", metric="log_loss", holdout=holdout,
                        families=["diverging_stub", "linear"], max_trials=3, budget_seconds=300, seed=0,
                        ensemble=False)
    assert result.family == "diverging_stub" and result.fallback is None
    assert not diverged(0.002, 0.0006, 1.09, "log_loss")  # wine: a tiny loss tripled is noise
    assert diverged(18.0, 0.90, 2.3, "log_loss")  # flights_carrier's LightGBM refit
    assert diverged(2.0, 0.5, 1.9, "log_loss")  # worse than predicting the class shares
    assert diverged(0.45, 0.9, 0.5, "roc_auc") and not diverged(0.8, 0.9, 0.5, "roc_auc")
    assert diverged(float("nan"), 0.9, 0.5, "roc_auc")


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", ["hist_gradient_boosting", "random_forest", "extra_trees"])
def test_the_scikit_learn_defaults_trials_fit_the_library_s_own_values(name, task):
    # HistGradientBoosting's trial had an L2 of 1e-4, 200 rounds and early stopping always on; the forests' a depth
    # limit of 32. The forests' regressors keep max_features="sqrt" by choice (docs/train.md), the one exception
    from sklearn import ensemble

    family = FAMILIES.get(name)
    ctx = SearchContext(task, 0 if task == "regression" else 3)
    proposed = {k.split(".", 1)[1]: v for k, v in default_trial(family, ctx).items() if k != "family"}
    fitted = family.build(ctx, library_defaults(family, proposed), seed=0).get_params()
    kind = {"hist_gradient_boosting": "HistGradientBoosting", "random_forest": "RandomForest",
            "extra_trees": "ExtraTrees"}[name] + ("Regressor" if task == "regression" else "Classifier")
    library = getattr(ensemble, kind)().get_params()
    ours = {"n_jobs", "random_state"}  # single-threaded and seeded by design
    if name != "hist_gradient_boosting" and task == "regression":
        ours.add("max_features")
    assert {k: v for k, v in fitted.items() if k not in ours} == {k: v for k, v in library.items() if k not in ours}


def test_a_near_best_trial_refittable_on_every_row_replaces_a_best_whose_refits_would_overrun():
    # digits at 10 s: histogram gradient boosting's 10-class defaults, scored on their first fold only (1.5 s a
    # fold), led LightGBM's defaults there by 2.4%, were refitted on the training rows alone and scored log-loss
    # 0.0846 on the test rows, where LightGBM's defaults refitted on every row score 0.0615
    clock = FakeClock()
    slow = TrialResult(4, "hist_gradient_boosting", {}, 0.1130, 1.5, fold_scores=[0.1130], partial=True)
    near = TrialResult(0, "lightgbm", {}, 0.1139, 2.0, fold_scores=[0.1158, 0.1114, 0.1431, 0.0782, 0.1210])
    far = TrialResult(2, "random_forest", {}, 0.3430, 0.5, fold_scores=[0.3293, 0.3331, 0.3677, 0.3396, 0.3461])
    completed, lower_is_better, refit_rows_of = [near, far, slow], -1.0, RefitRows(1.0, 1.25)  # 2.25 fold-seconds

    def choose(elapsed: float, candidates: list[TrialResult]) -> tuple[TrialResult, TrialResult | None]:
        deadline = Deadline(10.0, clock=clock)
        clock.advance(elapsed)
        return _refittable_on_every_row(slow, candidates, lower_is_better, True, refit_rows_of, deadline, keep=1.0)

    # 2.6 s left: the slow trial's two refits and holdout need about 6.6 s, LightGBM's about 1.8 s (0.4 s a fold)
    assert choose(7.4, completed) == (near, slow)
    assert choose(2.0, completed) == (slow, None)  # time for the slow trial's refits: it stays
    assert choose(7.4, [far, slow]) == (slow, None)  # the only one that fits is far behind: the best stays
    scored_everywhere = dataclasses.replace(slow, fold_scores=[0.1130] * 5, seconds=7.5, partial=False)
    assert _refittable_on_every_row(scored_everywhere, [near, scored_everywhere], lower_is_better, False,
                                    refit_rows_of, Deadline(10.0, clock=clock, started=clock() - 7.4), 1.0) == (
        scored_everywhere, None)  # a lead on every fold is kept, refitted on the rows that fit


def test_the_gap_is_a_share_of_the_leaders_loss_or_error():
    assert relative_gap(11.0, 10.0, -1.0) == pytest.approx(0.10)  # rmse 11 against 10
    assert relative_gap(0.990, 0.995, 1.0) == pytest.approx(1.0)  # AUC: twice the error
    assert relative_gap(9.0, 10.0, -1.0) == pytest.approx(-0.10)  # ahead


def test_a_first_fold_defaults_trial_decides_the_comparison_only_while_it_contends_there():
    lightgbm = TrialResult(0, "lightgbm", {}, 0.070, 2.0, fold_scores=[0.103, 0.031, 0.104, 0.060, 0.053])
    xgboost = TrialResult(1, "xgboost", {}, 0.081, 0.8, fold_scores=[0.119, 0.049, 0.106, 0.077, 0.053])
    behind = TrialResult(4, "hist_gradient_boosting", {}, 0.127, 0.6, fold_scores=[0.127], partial=True)
    close = dataclasses.replace(behind, score=0.105, fold_scores=[0.105])  # 2% behind the best first fold
    ahead = dataclasses.replace(behind, score=0.090, fold_scores=[0.090])
    lower_is_better = -1.0
    assert compared_trials([lightgbm, xgboost, behind], lower_is_better) == [lightgbm, xgboost]
    assert compared_trials([lightgbm, xgboost, close], lower_is_better) == [lightgbm, xgboost, close]
    assert compared_trials([lightgbm, xgboost, ahead], lower_is_better) == [lightgbm, xgboost, ahead]
    assert compared_trials([behind], lower_is_better) == [behind]  # nothing else was scored
    # measured against the trial chosen on every fold, not the first fold's leader: here LightGBM leads on every
    # fold but trails the defaults on the first, so they contend there, and the choice never ends behind them
    leads_on_the_mean = dataclasses.replace(lightgbm, fold_scores=[0.110, 0.031, 0.104, 0.060, 0.053])
    leads_the_first_fold = dataclasses.replace(xgboost, fold_scores=[0.095, 0.049, 0.106, 0.077, 0.078])
    defaults = dataclasses.replace(behind, score=0.106, fold_scores=[0.106])  # 11.6% behind the first fold's lead
    compared = compared_trials([leads_on_the_mean, leads_the_first_fold, defaults], lower_is_better)
    assert defaults in compared
    assert choose_best(compared, lower_is_better).fold_scores[0] <= defaults.fold_scores[0]
    auc = 1.0  # a score best at 1: 0.95 against 0.99 on the first fold is five times the error
    first = TrialResult(0, "linear", {}, 0.99, 0.1, fold_scores=[0.99, 0.98, 0.99])
    assert compared_trials([first, dataclasses.replace(behind, score=0.95, fold_scores=[0.95])], auc) == [first]


def test_each_family_s_best_is_an_ensemble_candidate_when_one_family_fills_the_top_places():
    # nine variants of one family share their errors and lead; the linear model trails with errors of its own.
    # Only the top eight trials were candidates before, all of the one family, and averaging them gained nothing
    from conveyor.train.automl import ENSEMBLE_CANDIDATES, _ensemble_weights
    from conveyor.train.trials import TrialData

    rng = np.random.default_rng(0)
    rows = 400
    y = pd.Series(rng.normal(size=rows))
    folds = [(np.setdiff1d(np.arange(rows), part), part) for part in np.array_split(np.arange(rows), 4)]
    data = TrialData(pd.DataFrame({"x": np.zeros(rows)}), y, folds, SearchContext("regression"), [], "rmse", 0)
    shared = rng.normal(size=rows)
    boosted = [TrialResult(n, "lightgbm", {}, 1.0 + n / 1000, 1.0, fold_scores=[1.0] * 4) for n in range(9)]
    linear = TrialResult(9, "linear", {}, 1.1, 0.1, fold_scores=[1.1] * 4)
    predictions = {n: y.to_numpy() + shared + rng.normal(size=rows) * 0.01 for n in range(9)}
    predictions[9] = y.to_numpy() + rng.normal(size=rows) * 1.1
    assert len(boosted) > ENSEMBLE_CANDIDATES
    weights, score = _ensemble_weights([*boosted, linear], predictions, data, -1.0)
    assert 9 in weights and weights[9] > 0.2  # the linear model takes a share
    assert score < 0.8  # averaging independent errors: about 0.74 against the best single trial's 1.0


def test_the_ensemble_partner_is_the_fastest_other_family_near_the_best():
    from conveyor.train.automl import ensemble_partner

    best = TrialResult(0, "linear", {}, 0.1096, 0.15, fold_scores=[0.11] * 5)
    boosting = TrialResult(1, "hist_gradient_boosting", {}, 0.1112, 6.25, fold_scores=[0.11] * 5)
    lightgbm = TrialResult(2, "lightgbm", {}, 0.1139, 1.80, fold_scores=[0.11] * 5)
    forest = TrialResult(3, "random_forest", {}, 0.3432, 0.05, fold_scores=[0.34] * 5)  # fast, far behind
    variant = TrialResult(4, "linear", {}, 0.1100, 0.01, fold_scores=[0.11] * 5)  # fast, the best's own family
    lower_is_better = -1.0
    assert ensemble_partner([best, boosting, lightgbm, forest, variant], best, lower_is_better) is lightgbm
    assert ensemble_partner([best, boosting], best, lower_is_better) is boosting
    assert ensemble_partner([best, forest, variant], best, lower_is_better) is None


def test_the_search_keeps_time_for_an_ensemble_partner_s_refit():
    # a step plus a slope: the linear model learns the slope and leads, the slow tree (2 s a fit on the fake clock)
    # the step and trails by 2%; their mean beats both. The search kept time for the leader's refit alone (none
    # here) and ran on with tree trials to 38 s, so the ensemble's members were refitted on the training rows only
    frame = step_and_slope(step=0.9, seed=1)
    deadline = Deadline(40.0, clock=CLOCK)
    result = run_automl(frame, "y", metric="rmse", families=["linear", "costly_tree"], folds=3,
                        budget_seconds=40.0, deadline=deadline, seed=0)
    linear = min((t for t in result.trials if t.family == "linear" and t.state == "complete"),
                 key=lambda t: t.score)
    trees = [t for t in result.trials if t.family == "costly_tree" and t.state == "complete"]
    assert trees and linear.score < min(t.score for t in trees) < 1.05 * linear.score  # near, behind the leader
    assert result.family == "ensemble"
    assert {m["family"] for m in result.ensemble["members"]} == {"linear", "costly_tree"}
    assert result.refit == "all rows (training and holdout)"
    assert deadline.elapsed() <= 40.0


ROUND_SECONDS = 0.01  # what each boosting round of the costly booster costs on CLOCK


def _costly_booster():
    import lightgbm as lgb

    class CostlyBooster(lgb.LGBMRegressor):
        def fit(self, X, y, **kwargs):
            CLOCK.advance(ROUND_SECONDS * self.n_estimators)  # the defaults' 100 rounds: 1 s; a rounds trial's 1,000
            return super().fit(X, y, **kwargs)

    return CostlyBooster


class CostlyBoosterFamily(Family):
    """LightGBM whose fits cost fake seconds by their rounds: its rounds trial (up to 1,000 rounds, early-stopped)
    costs ten times its defaults (100)."""

    name = "costly_booster"
    tasks = ("regression",)
    requires = (("lightgbm", "train"),)
    defaults = {"n_estimators": 100}
    default = False
    early_stopping = True
    rounds_trial = {"n_estimators": 1000}
    flavor = "lightgbm"

    def suggest(self, trial, ctx):
        return {"n_estimators": trial.suggest_int("costly_booster.n_estimators", 100, 1000, log=True)}

    def build(self, ctx, params, seed):
        return _costly_booster()(n_estimators=params["n_estimators"], random_state=seed, n_jobs=1, verbose=-1)


FAMILIES.register("costly_booster", CostlyBoosterFamily(), replace=True)


def test_a_rounds_trial_whose_folds_do_not_fit_is_scored_on_the_folds_that_did_not_cut():
    # 4,000 rows: the defaults (1 s a fold) then the rounds trial (10 s a fold). Judged by its family's mean fold
    # (the defaults' 1 s), its folds went on until it completed with no time left for its own refit; judged by its
    # own folds it is scored on its first one, as a defaults trial is, and leaves the time for the refits
    pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=np.sin(2 * X[:, 0]) + X[:, 1] ** 2)
    deadline = Deadline(45.0, clock=CLOCK)
    result = run_automl(frame, "y", task="regression", metric="rmse", families=["costly_booster"], folds=3,
                        max_trials=2, budget_seconds=45.0, deadline=deadline, ensemble=False)
    defaults, rounds = result.trials
    assert defaults.state == "complete" and not defaults.partial and len(defaults.fold_scores) == 3
    assert rounds.state == "complete" and rounds.partial and len(rounds.fold_scores) == 1
    assert rounds.rounds_rows == 2_133  # early stopping chose its rounds on a fold of the 3,200 training rows
    assert deadline.elapsed() <= 45.0


class SlowRefitTree(DecisionTreeRegressor):
    """A tree whose folds (up to 200 rows) cost FIT_SECONDS on CLOCK and whose refits (more rows) cost ten times
    that: its folds foretell its refits badly, as a refit's grown rounds or a loaded machine can."""

    def fit(self, X, y):
        CLOCK.advance(FIT_SECONDS if len(X) <= 200 else 10 * FIT_SECONDS)
        return super().fit(X, y)


class SlowRefitTreeFamily(CostlyTreeFamily):
    name = "slow_refit_tree"

    def build(self, ctx, params, seed):
        return SlowRefitTree(max_depth=params["max_depth"], random_state=seed)


FAMILIES.register("slow_refit_tree", SlowRefitTreeFamily(), replace=True)


def test_an_ensemble_whose_refit_on_every_row_no_longer_fits_gives_way_to_the_best_refitted_on_every_row():
    # the linear model is best alone, the ensemble with the tree better still; the tree's refit on the 240
    # training rows took 20 s where its folds foretold none (the linear model's refit took none), so the
    # ensemble's refit on every row no longer fits the budget while the linear model's does
    result, deadline = linear_beside_a_tree(1.0, "slow_refit_tree", 45.0)
    linear, tree = result.trials
    assert linear.score < tree.score  # rmse: the linear model is the best single trial
    assert result.family == "linear" and result.ensemble is None
    assert result.training_rows == 300  # every row: the 240 training rows and the 60 of the holdout
    assert result.validation_score == linear.score
    assert "could not be refitted on every row within the budget: linear alone" in result.fallback
    assert result.holdout_metrics == result.holdout_check.metrics
    assert deadline.elapsed() <= 45.0


class SlowRefitTreeClassifier(DecisionTreeClassifier):
    """SlowRefitTree's classifier: folds of up to 400 rows cost FIT_SECONDS on CLOCK, refits ten times that."""

    def fit(self, X, y, **kwargs):
        CLOCK.advance(FIT_SECONDS if len(X) <= 400 else 10 * FIT_SECONDS)
        return super().fit(X, y, **kwargs)


class SlowRefitTreeClassifierFamily(Family):
    name = "slow_refit_tree_classifier"
    tasks = ("classification",)
    requires = ()
    defaults = {"max_depth": 3}
    default = False

    def suggest(self, trial, ctx):
        return {"max_depth": trial.suggest_int(f"{self.name}.max_depth", 1, 6)}

    def build(self, ctx, params, seed):
        return SlowRefitTreeClassifier(max_depth=params["max_depth"], min_samples_leaf=20, random_state=seed)


FAMILIES.register("slow_refit_tree_classifier", SlowRefitTreeClassifierFamily(), replace=True)


def test_a_best_trial_that_broke_on_its_own_rows_never_replaces_the_ensemble_that_left_it_out():
    # the diverging stub leads alone; its refit on the 480 training rows diverges on them and the ensemble of the
    # others is kept. That ensemble's refit on every row then does not fit (the tree's refit took 20 s) while the
    # stub's alone would: the stub must not come back (it did: "training rows (the refit on every row diverged)")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        y=(2.0 * (X[:, 0] > 0.3) + X[:, 1] + rng.normal(0, 0.5, 600) > 0.8).astype(int))
    DIVERGE_ABOVE["rows"] = 450  # folds of 400 rows fit sanely, the refits diverge
    deadline = Deadline(45.0, clock=CLOCK)
    result = run_automl(frame, "y", task="classification", metric="log_loss", folds=3, max_trials=3,
                        families=["diverging_stub", "linear", "slow_refit_tree_classifier"], budget_seconds=45.0,
                        deadline=deadline)
    stub = result.trials[0]
    assert stub.family == "diverging_stub" and stub.score == min(t.score for t in result.trials)
    assert "left out: trial 0 (diverging_stub)" in result.fallback
    assert result.family == "ensemble"
    assert {m["family"] for m in result.ensemble["members"]} == {"linear", "slow_refit_tree_classifier"}
    assert result.refit.startswith("training rows (refitting on all rows would overrun")
    assert result.holdout_metrics["log_loss"] < 0.5
