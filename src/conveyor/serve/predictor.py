"""Predict with the cheapest call that gives the model's own answer.

LightGBM's and XGBoost's scikit-learn wrappers spend most of a small request on input checks (0.36 ms vs 23 us for
the tree evaluation on one row), and their default OpenMP threading makes a 1-row predict ~30x slower on a busy
machine. Once :mod:`conveyor.serve.conform` has checked and cast the input, nothing is left for those checks to
find, so this module calls the native booster directly, single-threaded for small batches. Which call that is, is
the model flavor's to say (:meth:`conveyor.registry.flavors.Flavor.native`; LightGBM and XGBoost built in):

* a native booster, or a bare scikit-learn estimator of a library with a native predictor: its booster;
* a scikit-learn ``Pipeline`` ending in one: the preprocessing once, then the booster on its output;
* anything else: the model's own ``predict`` / ``predict_proba`` (:func:`model_predict`).

When every input is numeric and the model is a booster (no preprocessing), a request can skip pandas altogether:
:meth:`Predictor.predict_matrix` takes the float matrix the JSON decoder built. Tests check that every fast path
answers exactly what the slow path does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import BadInputError, first_line
from conveyor.registry.flavors import SMALL_BATCH, NativePredictor, native_predictor, proba_columns
from conveyor.registry.loaded import LoadedModel

with extra_imports("serve"):
    from sklearn.pipeline import Pipeline

__all__ = ["SMALL_BATCH", "Predictor", "model_predict"]

_DATA_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def model_predict(model: LoadedModel, frame: pd.DataFrame, field: str = "inputs") -> tuple[Any, Any]:
    """The slow path: predictions and (classifiers) probabilities from the model's own methods.

    A scikit-learn pipeline's preprocessing runs once, not once per call. The model refusing data is the caller's
    to fix: the usual data errors, or anything at all when the model has no signature and so nothing was checked
    before it. Other errors are bugs and propagate.
    """
    classifier = model.task == "classification"
    pipeline = model.model
    try:
        if not (classifier and isinstance(pipeline, Pipeline) and hasattr(pipeline.steps[-1][1], "predict_proba")):
            return model.predict(frame), model.predict_proba(frame) if classifier else None
        features = pipeline[:-1].transform(frame) if len(pipeline) > 1 else frame
        final = pipeline.steps[-1][1]
        return final.predict(features), final.predict_proba(features)
    except Exception as exc:
        if not isinstance(exc, _DATA_ERRORS) and model.input_names:
            raise
        raise BadInputError(f"The model could not score this input: {first_line(exc)}", field=field) from None


class Predictor:
    """``predict_frame`` / ``predict_matrix`` -> (predictions, class probabilities or None) for one loaded model.

    ``compile_trees`` (a model server's load, never training or evaluation): let the native booster compile its
    trees for small batches where it can and they check out (:meth:`NativePredictor.compile_for_serving`).
    :attr:`serving_runtime` names what answers: ``compiled-trees``, the booster's library (``lightgbm``,
    ``xgboost``) or ``model`` (the model's own predict methods).
    """

    def __init__(self, model: LoadedModel, compile_trees: bool = False) -> None:
        self.model = model
        self.classifier = model.task == "classification"
        labels = list(model.classes)
        # Homogeneous int or text labels keep a native dtype, so answers become Python values in one tolist().
        same = labels and (all(isinstance(c, int) and not isinstance(c, bool) for c in labels)
                           or all(isinstance(c, str) for c in labels))
        self.classes = np.asarray(labels) if same else np.asarray(labels, dtype=object)
        inner = model.model
        self.prep: Any = None
        if isinstance(inner, Pipeline) and len(inner) > 1:
            self.prep, inner = inner[:-1], inner.steps[-1][1]
        self.booster: NativePredictor | None = native_predictor(inner)
        if self.booster is not None and self.classifier and (not self.booster.probabilistic or not len(self.classes)):
            self.booster = None
        inputs = model.version.signature.get("inputs", [])
        self.names = [c["name"] for c in inputs]
        if not inputs:  # no signature: nothing checked the input, so let the model's own checks see it
            self.booster = None
        # The float matrix of a request can go straight to the booster: every input numeric, nothing in between.
        self.takes_matrix = (self.booster is not None and self.prep is None and bool(inputs)
                             and all(c.get("kind") == "numeric" for c in inputs))
        if self.booster is None:
            self.serving_runtime = "model"
        else:
            self.serving_runtime = self.booster.compile_for_serving() if compile_trees else self.booster.runtime

    @property
    def native(self) -> bool:
        return self.booster is not None

    def _answer(self, raw: np.ndarray) -> tuple[Any, Any]:
        raw = np.asarray(raw, dtype=float)
        if not self.classifier:
            return raw, None
        proba = proba_columns(raw)
        return self.classes[proba.argmax(axis=1)], proba

    def predict_matrix(self, matrix: np.ndarray) -> tuple[Any, Any]:
        """A float64 matrix in signature order (only when :attr:`takes_matrix`)."""
        booster = self.booster
        assert booster is not None, "predict_matrix needs a native booster (takes_matrix)"
        return self._answer(booster.raw(matrix))

    def predict_frame(self, frame: pd.DataFrame, field: str = "inputs") -> tuple[Any, Any]:
        """A frame conformed to the signature."""
        if self.booster is None:
            return model_predict(self.model, frame, field)
        try:
            features = self.prep.transform(frame) if self.prep is not None else frame[self.names or frame.columns]
            if hasattr(features, "tocsr"):  # sparse preprocessing output: leave it to the model's own methods
                return model_predict(self.model, frame, field)
            matrix = np.ascontiguousarray(np.asarray(features, dtype=np.float64))
        except Exception as exc:
            if not isinstance(exc, _DATA_ERRORS) and self.names:
                raise
            raise BadInputError(f"The model could not score this input: {first_line(exc)}", field=field) from None
        return self.predict_matrix(matrix)

    def contributions(self, matrix: np.ndarray) -> np.ndarray | None:
        """Per-row feature contributions (SHAP values from the booster itself), last column the bias; for a
        multi-class model one block of columns per class. None without a native booster."""
        return None if self.booster is None else self.booster.contributions(matrix)

    def features(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[str]] | None:
        """The booster's input matrix for a conformed frame and its column names; None without a booster."""
        if self.booster is None:
            return None
        if self.prep is None:
            return np.asarray(frame[self.names or frame.columns], dtype=np.float64), list(self.names or frame.columns)
        transformed = self.prep.transform(frame)
        matrix = np.asarray(transformed.toarray() if hasattr(transformed, "toarray") else transformed,
                            dtype=np.float64)
        try:
            names = [str(n) for n in self.prep.get_feature_names_out()]
        except Exception:  # a step without feature names
            names = [f"f{i}" for i in range(matrix.shape[1])]
        return matrix, names
