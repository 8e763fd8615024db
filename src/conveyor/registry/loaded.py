"""A registered model, loaded and ready to predict on DataFrames whatever its flavor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import require
from conveyor.core.entities import ModelVersion


@dataclass
class LoadedModel:
    version: ModelVersion
    model: Any

    @property
    def task(self) -> str:
        return self.version.signature.get("task", "regression")

    @property
    def classes(self) -> list:
        """Class labels in the order of ``predict_proba``'s columns: the fitted estimator's own ``classes_``
        where it has one (the source of truth), else the signature's."""
        fitted = getattr(self.model, "classes_", None)
        if fitted is not None:
            return [c.item() if hasattr(c, "item") else c for c in fitted]
        return list(self.version.signature.get("classes") or [])

    @property
    def input_names(self) -> list[str]:
        return [c["name"] for c in self.version.signature.get("inputs", [])]

    def _native_matrix(self, frame: pd.DataFrame) -> Any:
        if self.version.flavor == "xgboost":
            xgboost = require("xgboost", "xgboost")

            return xgboost.DMatrix(frame)
        return frame

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        if self.task != "classification":
            return None
        if self.version.flavor == "sklearn":
            return self.model.predict_proba(frame) if hasattr(self.model, "predict_proba") else None
        raw = np.asarray(self.model.predict(self._native_matrix(frame)), dtype=float)
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.version.flavor == "sklearn":
            return np.asarray(self.model.predict(frame))
        if self.task == "classification":
            proba = self.predict_proba(frame)
            return np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]
        return np.asarray(self.model.predict(self._native_matrix(frame)), dtype=float)
