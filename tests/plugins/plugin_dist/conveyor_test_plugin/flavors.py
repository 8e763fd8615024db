"""A model flavor a third party ships: weights over named columns, stored as JSON (no pickle), in files with the
suffix ``.linjson``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from conveyor.registry.flavors import Flavor


class Linear:
    """A model of a library conveyor does not know."""

    def __init__(self, names: list[str], coef: list[float], intercept: float) -> None:
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.coef, self.intercept = [float(c) for c in coef], float(intercept)

    def predict(self, frame: Any) -> np.ndarray:
        return np.asarray(frame[list(self.feature_names_in_)], dtype=float) @ np.asarray(self.coef) + self.intercept


class LinearFlavor(Flavor):
    name = "linear_json"
    suffixes = (".linjson",)

    def owns(self, model: Any) -> bool:
        return isinstance(model, Linear)

    def dump(self, model: Linear) -> bytes:
        return json.dumps({"names": [str(n) for n in model.feature_names_in_], "coef": model.coef,
                           "intercept": model.intercept}).encode()

    def load(self, data: bytes) -> Linear:
        spec = json.loads(data)
        return Linear(spec["names"], spec["coef"], spec["intercept"])


FLAVOR = LinearFlavor()
