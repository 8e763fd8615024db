"""LightGBM: a native ``lightgbm.Booster`` stored as its text model (no pickle); the fast predictor and exact TreeSHAP
for boosters and for LightGBM's scikit-learn estimators (``LGBMClassifier`` inside a pickled pipeline too)."""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.core.dependencies import require
from conveyor.registry.flavors.base import SMALL_BATCH, BoosterFlavor, NativePredictor

PROBABILISTIC_OBJECTIVES = ("binary", "multiclass", "multiclassova")


def _is_lightgbm(model: Any) -> bool:
    return type(model).__module__.startswith("lightgbm")


class LightGBMNative(NativePredictor):
    """``Booster.predict`` on a float matrix, single-threaded for small batches (OpenMP's start-up costs more);
    once :meth:`compile_for_serving` has compiled and checked the trees, small batches go through the compiled walk
    (:mod:`conveyor.registry.flavors.compiled_trees`, about twice as fast, the same answers)."""

    __slots__ = ("booster", "compiled")
    library = "lightgbm"

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.compiled: Any = None

    @property
    def runtime(self) -> str:
        return "compiled-trees" if self.compiled is not None else self.library

    def compile_for_serving(self) -> str:
        if self.compiled is None:
            from conveyor.registry.flavors.compiled_trees import compile_booster  # deferred: numba loads slowly

            self.compiled = compile_booster(self.booster)
        return self.runtime

    @property
    def probabilistic(self) -> bool:
        return str(self.booster.params.get("objective", "")).split(" ")[0] in PROBABILISTIC_OBJECTIVES

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.shape[0] <= SMALL_BATCH:
            compiled = self.compiled
            if compiled is not None and matrix.ndim == 2 and matrix.shape[1] == compiled.features:
                return compiled.predict(matrix)
            return self.booster.predict(matrix, num_threads=1)
        return self.booster.predict(matrix)

    def contributions(self, matrix: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(matrix, pred_contrib=True, num_threads=1))


class LightGBMFlavor(BoosterFlavor):
    name = "lightgbm"
    suffixes = (".txt", ".lgb")
    requires = ("serve",)
    early_stopping = True

    def owns(self, model: Any) -> bool:
        return _is_lightgbm(model) and type(model).__name__ == "Booster"

    def dump(self, model: Any) -> bytes:
        return model.model_to_string().encode()

    def load(self, data: bytes) -> Any:
        lightgbm = require("lightgbm", "serve", field="flavor")
        return lightgbm.Booster(model_str=data.decode())

    def task(self, model: Any) -> tuple[str, list] | None:
        found = super().task(model)
        if found is not None or not hasattr(model, "params"):
            return found
        objective = str(model.params.get("objective", ""))
        if objective.startswith("binary"):
            return "classification", [0, 1]
        if objective.startswith("multiclass"):
            return "classification", list(range(int(model.params.get("num_class", 2))))
        return None

    def input_names(self, model: Any) -> list[str] | None:
        if self.owns(model):
            return [str(n) for n in model.feature_name()]
        return super().input_names(model)

    def native(self, estimator: Any) -> LightGBMNative | None:
        if not _is_lightgbm(estimator):
            return None
        if type(estimator).__name__ == "Booster":
            return LightGBMNative(estimator)
        booster = getattr(estimator, "_Booster", None)  # what the public booster_ returns, None before fit
        return LightGBMNative(booster) if booster is not None else None

    def fit_early_stopping(self, estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, rounds: int) -> int:
        lightgbm = require("lightgbm", "train", field="flavor")
        estimator.fit(X, y, eval_set=[(X_valid, y_valid)],
                      callbacks=[lightgbm.early_stopping(rounds, verbose=False)])
        return int(estimator.best_iteration_ or estimator.n_estimators)


FLAVOR = LightGBMFlavor()
