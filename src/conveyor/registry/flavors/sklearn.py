"""scikit-learn: any estimator or pipeline with ``fit`` and ``predict`` (LightGBM's and XGBoost's wrappers, conveyor's
own pipelines and ensembles), pickled. The catch-all flavor, asked last.

The registry only unpickles bytes after the artifact store has checked their BLAKE3 digest; a ``.pkl``, ``.pickle``
or ``.joblib`` file from elsewhere loads only with an explicit ``--trust``, since unpickling can run code.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from conveyor.core.dependencies import available, require
from conveyor.registry.flavors.base import Flavor


class SklearnFlavor(Flavor):
    name = "sklearn"
    suffixes = (".pkl", ".pickle", ".joblib")
    pickled = True
    fallback = True
    requires = ("serve",)

    def owns(self, model: Any) -> bool:
        return hasattr(model, "predict") and hasattr(model, "fit")

    def dump(self, model: Any) -> bytes:
        return pickle.dumps(model, protocol=5)

    def load(self, data: bytes) -> Any:
        return pickle.loads(data)  # the caller verified the digest (or the user trusted the file)

    def read_file(self, path: Path) -> Any:
        joblib = require("joblib", "train", field="file")  # reads both joblib and plain pickle files
        return joblib.load(path)

    def contributions(self, estimator: Any, matrix: Any) -> np.ndarray | None:
        """TreeSHAP of scikit-learn's tree models through the ``shap`` package (extra "explain"), when installed."""
        if not (hasattr(estimator, "estimators_") or hasattr(estimator, "tree_")) or not available("shap"):
            return None
        shap = require("shap", "explain")
        dense = np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explainer = shap.TreeExplainer(estimator)
            values = np.asarray(explainer.shap_values(dense, check_additivity=False))
        bias = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        if values.ndim == 2:
            return np.column_stack([values, np.full(len(values), bias[-1])])
        blocks = [np.column_stack([values[:, :, k], np.full(len(values), bias[k])]) for k in range(values.shape[2])]
        return np.column_stack(blocks)  # one block of features + bias per class, like the boosters'


FLAVOR = SklearnFlavor()
