"""Model flavors: every built-in passes check_flavor, the registry finds flavors by model, name and suffix, a plug-in
flavor works through register/load/import, and the checker itself fails on broken promises."""

from __future__ import annotations

import json
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from conveyor.core.errors import BadInputError, MissingDependencyError
from conveyor.registry.flavors import (
    FLAVORS,
    Flavor,
    contributions,
    flavor_for_suffix,
    flavor_of,
    get_flavor,
    native_predictor,
    requires_for,
)
from conveyor.registry.importing import import_model
from conveyor.registry.models import load_model, register_model
from conveyor.testing import check_flavor
from conveyor.train.automl import run_automl


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    score = X["a"] - X["b"] * X["c"] + rng.normal(scale=0.3, size=300)
    return X, score, (score > 0).astype(int), np.digitize(score, [-0.7, 0.7])


@pytest.fixture(scope="module")
def models(data):
    """One fitted model per built-in case, trained once for the module."""
    X, value, binary, three = data
    lgb_params = {"verbose": -1, "num_leaves": 7}
    return {
        "sklearn-logistic": (LogisticRegression(max_iter=1000).fit(X, binary), "classification"),
        "sklearn-lgbm-wrapper": (lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, three), "classification"),
        "sklearn-forest-regressor": (RandomForestRegressor(n_estimators=10, random_state=0).fit(X, value),
                                     "regression"),
        "sklearn-forest-classifier": (RandomForestClassifier(n_estimators=10, random_state=0).fit(X, three),
                                      "classification"),
        "lightgbm-binary": (lgb.train({"objective": "binary", **lgb_params}, lgb.Dataset(X, binary), 20),
                            "classification"),
        "lightgbm-multiclass": (lgb.train({"objective": "multiclass", "num_class": 3, **lgb_params},
                                          lgb.Dataset(X, three), 20), "classification"),
        "lightgbm-regression": (lgb.train({"objective": "regression", **lgb_params}, lgb.Dataset(X, value), 20),
                                "regression"),
        "xgboost-binary": (xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, binary), 20),
                           "classification"),
        "xgboost-multiclass": (xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3},
                                         xgb.DMatrix(X, three), 20), "classification"),
        "xgboost-regression": (xgb.train({"objective": "reg:squarederror", "max_depth": 3}, xgb.DMatrix(X, value),
                                         20), "regression"),
    }


CASES = ["sklearn-logistic", "sklearn-lgbm-wrapper", "sklearn-forest-regressor", "sklearn-forest-classifier",
         "lightgbm-binary", "lightgbm-multiclass", "lightgbm-regression", "xgboost-binary", "xgboost-multiclass",
         "xgboost-regression"]


@pytest.mark.parametrize("case", CASES)
def test_every_built_in_flavor_passes_its_checker(data, models, case):
    model, task = models[case]
    flavor = flavor_of(model)
    assert flavor.name == case.split("-")[0]
    check_flavor(flavor, model, data[0].head(40), task=task)


def test_a_pipeline_trained_by_automl_passes_the_sklearn_checker():
    frame = load_breast_cancer(as_frame=True).frame.assign(site=lambda f: np.where(f.index % 2, "n", "s"))
    result = run_automl(frame, "target", families=["lightgbm"], max_trials=1, ensemble=False)
    check_flavor(get_flavor("sklearn"), result.pipeline, frame.drop(columns="target").head(30),
                 task="classification")


def test_the_registry_knows_the_built_ins_by_name_and_suffix():
    assert FLAVORS.names()[:3] == ["lightgbm", "xgboost", "sklearn"]
    assert {s: flavor_for_suffix(s).name for s in (".txt", ".LGB", ".json", ".ubj", ".pkl", ".joblib")} == {
        ".txt": "lightgbm", ".LGB": "lightgbm", ".json": "xgboost", ".ubj": "xgboost", ".pkl": "sklearn",
        ".joblib": "sklearn"}
    assert flavor_for_suffix(".onnx") is None
    with pytest.raises(BadInputError, match="not a model conveyor knows"):
        flavor_of(object())


def test_native_predictors_and_contributions_come_from_the_flavor_of_the_estimator(data, models):
    assert native_predictor(models["sklearn-logistic"][0]) is None
    assert native_predictor(models["sklearn-lgbm-wrapper"][0]) is not None  # the wrapper's own booster
    matrix = data[0].head(5).to_numpy()
    # multi-class XGBoost: one block of features + bias per class, side by side (was a 3-d array before)
    assert contributions(models["xgboost-multiclass"][0], matrix).shape == (5, 3 * 5)
    assert contributions(models["lightgbm-multiclass"][0], matrix).shape == (5, 3 * 5)
    assert contributions(models["sklearn-logistic"][0], matrix) is None


def test_extras_a_model_needs_include_those_of_the_estimators_inside_it(data, models):
    X, _, binary, _ = data
    assert requires_for(models["xgboost-binary"][0]) == ("xgboost",)
    assert requires_for(models["sklearn-logistic"][0]) == ("serve",)
    frame = X.assign(target=binary)
    pipeline = run_automl(frame, "target", families=["xgboost"], max_trials=1, ensemble=False).pipeline
    assert requires_for(pipeline) == ("serve", "xgboost")


class Linear:
    """A model of a library conveyor does not know: weights over named columns."""

    def __init__(self, names, coef, intercept):
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.coef, self.intercept = list(coef), float(intercept)

    def predict(self, frame):
        return np.asarray(frame[list(self.feature_names_in_)], dtype=float) @ np.asarray(self.coef) + self.intercept


class LinearFlavor(Flavor):
    name = "linear_json"
    suffixes = (".linjson",)

    def owns(self, model):
        return isinstance(model, Linear)

    def dump(self, model):
        return json.dumps({"names": list(model.feature_names_in_), "coef": model.coef,
                           "intercept": model.intercept}).encode()

    def load(self, data):
        spec = json.loads(data)
        return Linear(spec["names"], spec["coef"], spec["intercept"])


@pytest.fixture
def linear_flavor():
    flavor = LinearFlavor()
    FLAVORS.register("linear_json", flavor, origin="test-plugin")
    yield flavor
    FLAVORS.unregister("linear_json")


def test_a_plug_in_flavor_is_detected_before_the_catch_all_and_round_trips(stores, linear_flavor, tmp_path, data):
    model = Linear(["a", "b"], [2.0, -1.0], 0.5)
    model.fit = lambda *a: model  # it even looks like a scikit-learn estimator: the plug-in still wins
    assert flavor_of(model) is linear_flavor
    check_flavor(linear_flavor, model, data[0].head(10))
    version = register_model(stores, model, "lin")
    assert version.flavor == "linear_json" and [c["name"] for c in version.signature["inputs"]] == ["a", "b"]
    loaded = load_model(stores, "lin")
    np.testing.assert_array_equal(loaded.predict(data[0].head(5)), model.predict(data[0].head(5)))
    path = tmp_path / "model.linjson"
    path.write_bytes(linear_flavor.dump(model))
    imported = import_model(stores, path, "lin2")  # not pickled: no --trust needed
    assert imported.flavor == "linear_json"


def test_a_broken_plug_in_flavor_never_breaks_the_others(models):
    FLAVORS.register_lazy("broken", "no_such_flavor_module_xyz:FLAVOR", origin="broken-plugin")
    try:
        model = models["sklearn-logistic"][0]
        assert flavor_of(model).name == "sklearn"
        with pytest.raises(BadInputError, match="could not be imported") as caught:
            get_flavor("broken")
        assert "broken-plugin" in caught.value.hint
    finally:
        FLAVORS.unregister("broken")


def test_a_missing_xgboost_names_the_extra_when_its_model_loads(stores, models, monkeypatch):
    version = register_model(stores, models["xgboost-binary"][0], "x")
    monkeypatch.setitem(sys.modules, "xgboost", None)  # as if the extra were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'conveyor-mlops\[xgboost\]'"):
        load_model(stores, version)


class LossyFlavor(LinearFlavor):
    name = "lossy"

    def dump(self, model):
        return json.dumps({"names": list(model.feature_names_in_), "coef": [round(c, 1) for c in model.coef],
                           "intercept": model.intercept}).encode()


class MisnamedSuffixFlavor(LinearFlavor):
    name = "bad_suffix"
    suffixes = ("linjson",)


@pytest.mark.parametrize(("flavor", "message"), [(LossyFlavor(), "dump\\(\\) and load\\(\\) changed the predictions"),
                                                  (MisnamedSuffixFlavor(), "must be lower case and start with a dot")])
def test_the_checker_fails_a_flavor_that_breaks_a_promise(data, flavor, message):
    with pytest.raises(AssertionError, match=message):
        check_flavor(flavor, Linear(["a"], [1.234], 0.0), data[0].head(10))
