"""A registered model, loaded and ready to predict on DataFrames whatever its flavor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.entities import ModelVersion
from conveyor.registry.flavors import Flavor, get_flavor


@dataclass
class LoadedModel:
    version: ModelVersion
    model: Any
    flavor: Flavor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.flavor = get_flavor(self.version.flavor)

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

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        return self.flavor.predict_proba(self.model, frame, self.task, self.classes)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.flavor.predict(self.model, frame, self.task, self.classes)
