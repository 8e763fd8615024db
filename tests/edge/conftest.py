"""Small real models for the ONNX tests: conveyor's own preprocessing in front of LightGBM, XGBoost (inside
EncodedLabels, as AutoML saves it) and a linear model; trained once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier

from conveyor.core.entities import ModelVersion
from conveyor.features.preprocess import build_preprocessor
from conveyor.registry.models import register_model
from conveyor.registry.packaging import infer_inputs
from conveyor.store import Stores
from conveyor.train.estimators import EncodedLabels


@dataclass
class Trained:
    model: Any
    signature: dict[str, Any]
    rows: pd.DataFrame  # feature columns in signature order, a missing value included

    def register(self, stores: Stores, name: str) -> ModelVersion:
        return register_model(stores, self.model, name, signature=self.signature)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    yield opened
    opened.close()


def churn_frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 12, n).round(2),
                          "plan": rng.choice(["basic", "pro", "team"], n), "active": rng.random(n) > 0.5})
    risk = (frame["plan"] == "basic") * 1.5 + (frame["income"] < 45) * 1.0 - frame["active"] * 0.8
    frame["churn"] = np.where(risk + rng.normal(0, 0.6, n) > 0.8, "yes", "no")
    return frame


def _trained(estimator: Any, encoding: str, scale: bool) -> Trained:
    frame = churn_frame()
    X, y = frame.drop(columns="churn"), frame["churn"]
    model = Pipeline([("prep", build_preprocessor(X, scale=scale, encoding=encoding)), ("model", estimator)])
    model.fit(X, y)
    signature = {"inputs": infer_inputs(X, None), "task": "classification", "classes": ["no", "yes"],
                 "target": "churn"}
    rows = X.head(40).reset_index(drop=True)
    rows.loc[3, "income"] = np.nan
    rows.loc[5, "plan"] = "enterprise"  # a category never seen in training
    return Trained(model, signature, rows)


@pytest.fixture(scope="session")
def lgbm_churn() -> Trained:
    return _trained(lgb.LGBMClassifier(n_estimators=40, verbose=-1, n_jobs=1), "ordinal", scale=False)


@pytest.fixture(scope="session")
def xgb_churn() -> Trained:
    return _trained(EncodedLabels(XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1)), "ordinal", scale=False)


@pytest.fixture(scope="session")
def linear_churn() -> Trained:
    return _trained(LogisticRegression(max_iter=500), "onehot", scale=True)


@pytest.fixture(scope="session")
def lgbm_regressor() -> Trained:
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["x0", "x1", "x2", "x3"])
    y = 2 * X["x0"] - X["x1"] + 0.1 * rng.normal(size=300)
    model = lgb.LGBMRegressor(n_estimators=30, verbose=-1, n_jobs=1).fit(X, y)
    signature = {"inputs": infer_inputs(X, None), "task": "regression", "classes": [], "target": "y"}
    return Trained(model, signature, X.head(20))


@pytest.fixture(scope="session")
def churn_data() -> pd.DataFrame:
    return churn_frame()


@pytest.fixture(scope="session")
def churn_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project that trained churn (AutoML, one trial) and promoted it to @champion."""
    import conveyor as cv

    root = tmp_path_factory.mktemp("edge-project")
    with cv.Project.init(root) as project:
        dataset = project.data.ingest(churn_frame(), "churn")[0]
        result = project.training.train(dataset, "churn", max_trials=1, budget=60)
        project.models.promote(result.model_version.ref, "champion")
    return root


@pytest.fixture(scope="session")
def native_boosters() -> dict[str, Trained]:
    """A native lightgbm.Booster (binary) and xgboost.Booster (regression) on named numeric columns."""
    import xgboost as xgb

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    binary = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, y), 20)
    regressor = xgb.train({"objective": "reg:squarederror", "nthread": 1}, xgb.DMatrix(X, 2 * X["a"] - X["c"]), 20)
    inputs = infer_inputs(X, None)
    return {"lightgbm": Trained(binary, {"inputs": inputs, "task": "classification", "classes": [0, 1],
                                         "target": "y"}, X.head(20)),
            "xgboost": Trained(regressor, {"inputs": inputs, "task": "regression", "classes": [], "target": "y"},
                               X.head(20))}
