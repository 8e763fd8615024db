"""Real models for the serving tests: trained once per session, registered into a fresh store per test or module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from conveyor.core.entities import ModelVersion
from conveyor.registry.models import register_model
from conveyor.registry.packaging import infer_inputs
from conveyor.store import Stores
from conveyor.train.automl import run_automl


@dataclass
class Trained:
    """A fitted model with the signature it is registered under and rows to score."""

    model: Any
    signature: dict[str, Any]
    rows: pd.DataFrame  # feature columns only, in signature order

    @property
    def features(self) -> list[str]:
        return [c["name"] for c in self.signature["inputs"]]

    def register(self, stores: Stores, name: str) -> ModelVersion:
        return register_model(stores, self.model, name, signature=self.signature)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    """A fresh SQLite metadata store and file artifact store."""
    opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def churn() -> Trained:
    """A LightGBM pipeline (AutoML's preprocessing inside) on numeric, categorical and bool columns; text classes."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50, 12, n).round(2),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "active": rng.random(n) > 0.5,
    })
    risk = (frame["plan"] == "basic") * 1.5 + (frame["income"] < 45) * 1.0 - frame["active"] * 0.8
    frame["churn"] = np.where(risk + rng.normal(0, 0.6, n) > 0.8, "yes", "no")
    result = run_automl(frame, "churn", families=["lightgbm"], max_trials=1, budget_seconds=60)
    signature = {"inputs": infer_inputs(frame[result.features], None), "task": result.task,
                 "classes": result.classes, "target": "churn"}
    rows = frame[result.features].head(25).reset_index(drop=True)
    rows.loc[3, "income"] = np.nan  # a missing value the pipeline imputes
    return Trained(result.pipeline, signature, rows)


@pytest.fixture(scope="session")
def regressor() -> Trained:
    """An sklearn-API LightGBM regressor on four numeric columns."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["x0", "x1", "x2", "x3"])
    y = 2 * X["x0"] - X["x1"] + 0.1 * rng.normal(size=300)
    model = lgb.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y)
    signature = {"inputs": infer_inputs(X, None), "task": "regression", "classes": [], "target": "y"}
    return Trained(model, signature, X.head(10))


@pytest.fixture(scope="session")
def booster() -> Trained:
    """A native ``lightgbm.Booster`` (flavor "lightgbm", no pickle) for a binary task: integer classes 0 and 1."""
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    model = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 8}, lgb.Dataset(X, y), 30)
    signature = {"inputs": infer_inputs(X, None), "task": "classification", "classes": [0, 1], "target": "y"}
    return Trained(model, signature, X.head(10))
