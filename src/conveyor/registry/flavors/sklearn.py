"""scikit-learn: any estimator or pipeline with ``fit`` and ``predict`` (LightGBM's and XGBoost's wrappers, conveyor's
own pipelines and ensembles). The catch-all flavor, asked last.

Saved with skops (a zip of the estimator's state, loaded without running pickle) when the model holds only types of
the loader-side allow-list below; the allow-list is conveyor's, never a list read from the artifact (MLflow's mistake
in mlflow#25686): a skops artifact naming any other type or function is refused before it is loaded. A model skops
cannot save that way is pickled. The registry only loads bytes after the artifact store has checked their BLAKE3
digest; a ``.pkl``, ``.pickle`` or ``.joblib`` file from elsewhere loads only with an explicit ``--trust`` (or, stored
untrusted by `conveyor models import`, after `conveyor models trust`), since unpickling can run code.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from conveyor.core.dependencies import available, require
from conveyor.core.errors import IntegrityError
from conveyor.registry.flavors.base import Flavor

SKOPS_MAGIC = b"PK\x03\x04"  # a skops file is a zip; a pickle starts with its protocol byte
#: the types and functions a skops model artifact may name beyond skops's own defaults (exact names)
ALLOWED_TYPES = frozenset({"numpy.dtype", "collections.OrderedDict", "lightgbm.basic.Booster", "xgboost.core.Booster"})
#: ... and the modules whose types and functions it may name: the libraries of the built-in families and conveyor's
#: own preprocessing
ALLOWED_MODULES = ("sklearn.", "lightgbm.sklearn.", "xgboost.sklearn.", "conveyor.features.", "conveyor.train.")


def allowed_type(name: str) -> bool:
    """Whether a skops artifact may name ``name`` (``module.qualname``)."""
    return name in ALLOWED_TYPES or name.startswith(ALLOWED_MODULES)


def prepare_dump() -> None:
    """Import what :func:`dump_skops` needs now (skops pulls in much of scikit-learn: seconds on a loaded machine),
    so a timed command pays it up front, where its budget sees it, instead of while storing its result."""
    if available("skops"):
        import skops.io  # noqa: F401


def dump_skops(model: Any) -> bytes | None:
    """The model as skops bytes, or None when skops is not installed or the model needs a type off the allow-list."""
    if not available("skops"):
        return None
    import skops.io as sio

    try:
        # the state is mostly JSON: DEFLATE cuts it 2.5-5 times; its fastest level keeps 90% of that cut at a sixth of
        # the time (a 30-class LightGBM's 10 MB: 4.4 MB in 0.06 s against 4.0 MB in 0.41 s, in a training budget)
        data: bytes = sio.dumps(model, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        if all(allowed_type(t) for t in sio.get_untrusted_types(data=data)):
            return data
    except Exception:
        pass
    return None


def load_skops(data: bytes) -> Any:
    """Load skops bytes, refusing any type or function off the allow-list before anything is built."""
    sio = require("skops.io", "serve", field="model")
    named = sio.get_untrusted_types(data=data)
    refused = sorted(t for t in named if not allowed_type(t))
    if refused:
        raise IntegrityError(f"The model artifact names {', '.join(refused)}, which conveyor does not load from a "
                             "skops file.", field="model",
                             hint="Only scikit-learn, LightGBM, XGBoost and conveyor's own preprocessing load; "
                                  "register the model from a trusted process instead.")
    return sio.loads(data, trusted=[t for t in named if allowed_type(t)])


class SklearnFlavor(Flavor):
    name = "sklearn"
    suffixes = (".pkl", ".pickle", ".joblib")
    pickled = True
    fallback = True
    requires = ("serve",)

    def owns(self, model: Any) -> bool:
        return hasattr(model, "predict") and hasattr(model, "fit")

    def dump(self, model: Any) -> bytes:
        return dump_skops(model) or pickle.dumps(model, protocol=5)

    def load(self, data: bytes) -> Any:
        if data[:4] == SKOPS_MAGIC:
            return load_skops(data)
        return pickle.loads(data)  # the caller verified the digest (or the user trusted the file)

    def read_file(self, path: Path) -> Any:
        data = path.read_bytes()
        return self.read_bytes(data)

    def read_bytes(self, data: bytes) -> Any:
        """A model file's content: skops (under the allow-list), else joblib or plain pickle."""
        if data[:4] == SKOPS_MAGIC:
            return load_skops(data)
        joblib = require("joblib", "train", field="file")  # reads both joblib and plain pickle files
        return joblib.load(io.BytesIO(data))

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
