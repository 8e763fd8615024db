"""XGBoost: a native ``xgboost.Booster`` stored as its JSON model (no pickle; JSON or UBJSON files import); the fast
predictor and exact TreeSHAP for boosters and XGBoost's scikit-learn estimators. Needs the ``xgboost`` extra."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import require
from conveyor.registry.flavors.base import SMALL_BATCH, BoosterFlavor, NativePredictor


def _xgboost() -> Any:
    return require("xgboost", "xgboost", field="flavor")


def _is_xgboost(model: Any) -> bool:
    return type(model).__module__.startswith("xgboost")


def _learner(booster: Any) -> dict[str, Any]:
    return json.loads(booster.save_config()).get("learner", {})


class XGBoostNative(NativePredictor):
    """``inplace_predict`` on a float matrix, one thread for small batches (the thread count is set only when it
    changes: ``set_param`` costs more than a small prediction)."""

    __slots__ = ("booster", "threads")
    library = "xgboost"

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.threads: int | None = None

    @property
    def probabilistic(self) -> bool:
        objective = _learner(self.booster)["objective"]["name"]
        return objective.startswith("binary:logistic") or objective in ("multi:softprob",)

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        threads = 1 if matrix.shape[0] <= SMALL_BATCH else 0
        if threads != self.threads:
            self.booster.set_param({"nthread": threads})
            self.threads = threads
        return self.booster.inplace_predict(matrix, validate_features=False)

    def contributions(self, matrix: Any) -> np.ndarray:
        values = np.asarray(self.booster.predict(_xgboost().DMatrix(matrix), pred_contribs=True,
                                                 validate_features=False))  # a matrix in the booster's order
        return values.reshape(len(values), -1)  # multi-class: (rows, classes, features + 1) side by side


class XGBoostFlavor(BoosterFlavor):
    name = "xgboost"
    suffixes = (".json", ".ubj")
    requires = ("xgboost",)
    early_stopping = True

    def owns(self, model: Any) -> bool:
        return _is_xgboost(model) and type(model).__name__ == "Booster"

    def dump(self, model: Any) -> bytes:
        return bytes(model.save_raw(raw_format="json"))

    def load(self, data: bytes) -> Any:
        booster = _xgboost().Booster()
        booster.load_model(bytearray(data))
        return booster

    def task(self, model: Any) -> tuple[str, list] | None:
        found = super().task(model)
        if found is not None or not self.owns(model):
            return found
        learner = _learner(model)
        objective = str(learner.get("objective", {}).get("name", ""))
        if objective.startswith("binary"):
            return "classification", [0, 1]
        if objective.startswith("multi"):
            return "classification", list(range(int(learner.get("learner_model_param", {}).get("num_class", 2))))
        return None

    def input_names(self, model: Any) -> list[str] | None:
        if self.owns(model):
            return [str(n) for n in model.feature_names] if model.feature_names else None
        return super().input_names(model)

    def matrix(self, frame: pd.DataFrame) -> Any:
        return _xgboost().DMatrix(frame)

    def native(self, estimator: Any) -> XGBoostNative | None:
        if not _is_xgboost(estimator):
            return None
        if type(estimator).__name__ == "Booster":
            return XGBoostNative(estimator)
        if hasattr(estimator, "get_booster"):
            try:
                return XGBoostNative(estimator.get_booster())
            except Exception:  # an unfitted estimator: no fast path
                return None
        return None

    def fit_early_stopping(self, estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, rounds: int) -> int:
        inner = getattr(estimator, "estimator", estimator)  # a label-encoding wrapper holds the XGBoost estimator
        inner.set_params(early_stopping_rounds=rounds)
        estimator.fit(X, y, eval_set=[(X_valid, y_valid)], verbose=False)
        return int(inner.best_iteration) + 1


FLAVOR = XGBoostFlavor()
