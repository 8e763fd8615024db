"""Turn a trained model into bytes and back, by flavor.

* ``sklearn``: any scikit-learn compatible estimator or pipeline (LightGBM's and XGBoost's wrappers too),
  pickled. The bytes are only unpickled after the artifact store has checked their BLAKE3 digest, and files
  from elsewhere only with an explicit ``trust``.
* ``lightgbm``: a native ``lightgbm.Booster`` as its text model (no pickle).
* ``xgboost``: a native ``xgboost.Booster`` as its JSON model (no pickle).
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError
from conveyor.core.kinds import column_kind


def detect_flavor(model: Any) -> str:
    module = type(model).__module__
    if module.startswith("lightgbm") and type(model).__name__ == "Booster":
        return "lightgbm"
    if module.startswith("xgboost") and type(model).__name__ == "Booster":
        return "xgboost"
    if hasattr(model, "predict") and hasattr(model, "fit"):
        return "sklearn"
    raise BadInputError(
        f"Cannot register a {type(model).__module__}.{type(model).__name__}: it is not a model conveyor knows.",
        field="model",
        hint="Log a fitted scikit-learn estimator or pipeline, a lightgbm.Booster or an xgboost.Booster.",
    )


def dump_model(model: Any, flavor: str) -> bytes:
    if flavor == "lightgbm":
        return model.model_to_string().encode()
    if flavor == "xgboost":
        return bytes(model.save_raw(raw_format="json"))
    return pickle.dumps(model, protocol=5)


def load_model_bytes(data: bytes, flavor: str) -> Any:
    """Only call with bytes whose digest was verified against the registry record."""
    if flavor == "lightgbm":
        lightgbm = require("lightgbm", "serve")  # only models of this flavor need it

        return lightgbm.Booster(model_str=data.decode())
    if flavor == "xgboost":
        xgboost = require("xgboost", "xgboost")

        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        return booster
    return pickle.loads(data)


def infer_inputs(example: pd.DataFrame | None, model: Any) -> list[dict[str, str]]:
    """The input columns a model expects, from an example frame or from what the model remembers."""
    if example is not None:
        if not isinstance(example, pd.DataFrame):
            example = pd.DataFrame(np.asarray(example))
            example.columns = [f"f{i}" for i in range(example.shape[1])]
        return [{"name": str(c), "dtype": str(example[c].dtype), "kind": column_kind(example[c])}
                for c in example.columns]
    names = getattr(model, "feature_names_in_", None)
    if names is None and hasattr(model, "feature_name"):
        names = model.feature_name()
    if names is None and getattr(model, "feature_names", None):
        names = model.feature_names
    return [{"name": str(n), "dtype": "float64", "kind": "numeric"} for n in (names if names is not None else [])]


def infer_task(model: Any, flavor: str) -> tuple[str, list]:
    classes = getattr(model, "classes_", None)
    if classes is not None:
        return "classification", [c.item() if hasattr(c, "item") else c for c in classes]
    if flavor == "lightgbm":
        objective = str(model.params.get("objective", "")) if hasattr(model, "params") else ""
        if objective.startswith("binary"):
            return "classification", [0, 1]
        if objective.startswith("multiclass"):
            return "classification", list(range(int(model.params.get("num_class", 2))))
    if flavor == "xgboost":
        learner = json.loads(model.save_config()).get("learner", {})
        objective = str(learner.get("objective", {}).get("name", ""))
        if objective.startswith("binary"):
            return "classification", [0, 1]
        if objective.startswith("multi"):
            return "classification", list(range(int(learner.get("learner_model_param", {}).get("num_class", 2))))
    return "regression", []
