"""Model families, searches and selection methods as registries: every built-in family passes check_family, a
missing package skips a default family with a note and fails an explicit one with the extra to install, plug-ins
registered at run time join the search, and the checker fails a family that breaks a promise."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import optuna
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.neighbors import KNeighborsClassifier

import conveyor as cv
from conveyor.core.errors import BadInputError, MissingDependencyError
from conveyor.features.selectors import SELECTORS, FeatureDecision, SelectionData, Selector
from conveyor.testing import check_family
from conveyor.train.automl import run_automl
from conveyor.train.families import BUILT_IN, FAMILIES, Family, SearchContext, choose_families
from conveyor.train.searches import SEARCHES, Search, SearchSpace


class NearestNeighbors(Family):
    """A family a plug-in could ship: k nearest neighbours, classification only."""

    name = "knn"
    tasks = ("classification",)
    requires = (("sklearn", "train"),)
    needs_scaling = True
    encoding = "onehot"
    defaults = {"n_neighbors": 5}
    grid = [{"n_neighbors": k} for k in (3, 9)]
    warm_start = 10

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {"n_neighbors": trial.suggest_int(f"{self.param_prefix}.n_neighbors", 1, 30)}

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        return KNeighborsClassifier(**params)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(as_frame=True).frame


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_family_passes_its_checker(name):
    check_family(FAMILIES.get(name))


def test_registries_list_the_built_ins_in_their_order():
    assert FAMILIES.names()[:6] == ["linear", "random_forest", "extra_trees", "hist_gradient_boosting", "lightgbm",
                                    "xgboost"]
    assert SEARCHES.names()[:3] == ["bayesian", "random", "grid"]
    assert SELECTORS.names()[:6] == ["none", "variance", "mutual_info", "l1", "tree", "rfe"]


def test_a_default_family_whose_package_is_missing_is_skipped_with_a_note(cancer, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # as if the xgboost extra were not installed
    result = run_automl(cancer.head(300), "target", max_trials=6, budget_seconds=120, seed=1, folds=2)
    assert "xgboost" not in {t.family for t in result.trials} and len(result.trials) == 6  # xgboost warm-starts 4th
    assert "pip install 'conveyor-mlops[xgboost]'" in result.skipped_families["xgboost"]
    assert result.holdout_metrics["roc_auc"] > 0.95


def test_asking_for_a_family_whose_package_is_missing_names_the_extra(cancer, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'conveyor-mlops\[xgboost\]'") as caught:
        run_automl(cancer, "target", max_trials=1, families=["xgboost"])
    assert caught.value.exit_code == 2 and caught.value.field == "train.families"


def test_a_training_run_records_the_skipped_family(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)
    frame = load_diabetes(as_frame=True).frame
    (tmp_path / "d.csv").write_text(frame.to_csv(index=False))
    with cv.Project.init(tmp_path) as project:
        project.data.ingest(tmp_path / "d.csv", name="d")
        trained = project.training.train("d", "target", max_trials=2, budget=60)
        run = project.stores.runs.get(trained.run.id)
    assert run.tags["families_skipped"] == "xgboost"
    assert any("'xgboost' was not searched" in note and "conveyor-mlops[xgboost]" in note
               for note in trained.model_version.meta["card"]["limitations"])


@pytest.fixture
def knn():
    family = NearestNeighbors()
    FAMILIES.register("knn", family, origin="test-plugin")
    yield family
    FAMILIES.unregister("knn")


def test_a_plug_in_family_passes_the_checker_and_joins_the_search(knn, cancer):
    check_family(knn)
    result = run_automl(cancer.head(300), "target", max_trials=7, budget_seconds=120, seed=0, ensemble=False, folds=2)
    assert result.trials[6].family == "knn"  # a default family: its defaults are warm-started after the built-ins
    only = run_automl(cancer, "target", max_trials=2, families=["knn"], ensemble=False)
    assert only.family == "knn" and only.holdout_metrics["roc_auc"] > 0.9


def test_a_family_that_cannot_learn_the_task_is_skipped_or_refused(knn):
    chosen, skipped = choose_families(None, "regression")
    assert knn not in chosen and skipped["knn"] == "does not support regression"
    with pytest.raises(BadInputError, match="'knn' cannot learn a regression task"):
        choose_families(["knn"], "regression")


def test_unknown_names_say_what_exists(cancer):
    with pytest.raises(BadInputError, match=r"Unknown model family 'lightgmb'\. Did you mean 'lightgbm'"):
        run_automl(cancer, "target", max_trials=1, families=["lightgmb"])
    with pytest.raises(BadInputError, match="Unknown search 'bayes'"):
        run_automl(cancer, "target", max_trials=1, search="bayes")


class BrokenDefaults(NearestNeighbors):
    name = "broken_defaults"
    defaults = {"n_neighbors": 50}  # outside its own space (1..30)


class UnfixedDefaults(NearestNeighbors):
    name = "unfixed_defaults"
    defaults = {"leaf_size": 30}  # its space draws n_neighbors, which the defaults trial would get at random


class WrongParameterNames(NearestNeighbors):
    name = "wrong_names"

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {"n_neighbors": trial.suggest_int("k", 1, 30)}


class WrongShape(NearestNeighbors):
    name = "wrong_shape"

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        return TwoColumns(**params)


class TwoColumns(ClassifierMixin, BaseEstimator):
    """Answers every prediction twice over: two columns where one is promised."""

    def __init__(self, n_neighbors: int = 5) -> None:
        self.n_neighbors = n_neighbors

    def fit(self, X, y):
        self.inner_ = KNeighborsClassifier(self.n_neighbors).fit(X, y)
        self.classes_ = self.inner_.classes_
        return self

    def predict(self, X):
        return np.column_stack([self.inner_.predict(X)] * 2)

    def predict_proba(self, X):
        return self.inner_.predict_proba(X)


@pytest.mark.parametrize(("family", "message"), [
    (BrokenDefaults(), "defaults .* are not a point of its space"),
    (UnfixedDefaults(), r"draws \['n_neighbors'\], which its defaults do not fix"),
    (WrongParameterNames(), "must draw each parameter as 'wrong_names.<key>'"),
    (WrongShape(), "predict gave shape"),
])
def test_the_checker_fails_a_family_that_breaks_a_promise(family, message):
    with pytest.raises(AssertionError, match=message):
        check_family(family)


class FirstFamilyOnly(Search):
    """A plug-in search: random parameters of the first family listed."""

    name = "first_only"
    warm_start = False

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)

    def propose(self, trial: optuna.Trial, space: SearchSpace) -> tuple[str, dict[str, Any]]:
        family = space.families[0]
        return family.name, family.suggest(trial, space.ctx)


class FirstTwoColumns(Selector):
    """A plug-in selection method: keeps the first two scored columns."""

    name = "first_two"
    scores_columns = False

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        return [FeatureDecision(c, i < 2, None, "first two" if i < 2 else "not among the first two")
                for i, c in enumerate(data.scored)]


def test_plug_in_searches_and_selection_methods_drive_the_search(cancer):
    SEARCHES.register("first_only", FirstFamilyOnly(), origin="test-plugin")
    SELECTORS.register("first_two", FirstTwoColumns(), origin="test-plugin")
    try:
        result = run_automl(cancer, "target", search="first_only", families=["linear", "lightgbm"], max_trials=4,
                            feature_selection={"method": "first_two"}, ensemble=False)
    finally:
        SEARCHES.unregister("first_only")
        SELECTORS.unregister("first_two")
    assert [t.family for t in result.trials] == ["linear"] * 4
    assert [d.column for d in result.selection if d.kept] == list(cancer.columns[:2])
