"""What a model flavor is: how one kind of model is recognised, stored, loaded, predicted with and explained.

A flavor is the only place that knows one library's API. Everything else (registering, importing files, loading,
serving, explaining) asks the registry (:mod:`conveyor.registry.flavors`) and calls these methods, so a third-party
package adds a model library with one module and one entry point (group ``conveyor.flavors``)::

    class CatBoostFlavor(Flavor):
        name = "catboost"
        suffixes = (".cbm",)
        requires = ("catboost",)              # extras of conveyor-mlops that `deploy docker` installs
        def owns(self, model): ...
        def dump(self, model): ...
        def load(self, data): ...

:func:`conveyor.testing.check_flavor` proves a flavor keeps its promises (round trip, suffixes, native predictor,
contributions).

Invariants: :meth:`Flavor.load` is only called with bytes whose digest the artifact store verified (or a file the
user trusted, for a ``pickled`` flavor); ``dump(load(b))`` predicts exactly what the original model predicted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SMALL_BATCH = 512  # rows; above this a booster's own threading pays off, below it one thread answers faster
TASKS = ("classification", "regression")


class NativePredictor:
    """A model's cheapest predict call, for serving: what the library computes on a float matrix, no checks.

    ``raw(matrix)`` returns the booster's output: probabilities for classifiers (one column for a binary one, the
    positive class), values for regressors. ``probabilistic`` says whether a classifier's output is probabilities
    (a classifier whose objective gives margins or labels is served through the slow path). ``contributions``
    gives per-row SHAP values, last column the bias, one block of ``features + 1`` columns per class.
    ``compile_for_serving()`` may swap in a faster predict that answers the same (a model server calls it once at
    load) and returns the runtime name that ``runtime`` reports.
    """

    __slots__ = ()
    library = "native"  # the runtime name of the library's own predict

    @property
    def runtime(self) -> str:
        return self.library

    def compile_for_serving(self) -> str:
        return self.runtime

    @property
    def probabilistic(self) -> bool:
        return True

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def contributions(self, matrix: Any) -> np.ndarray | None:
        return None


class Flavor:
    """One way of storing a model. Subclasses set the class attributes and implement ``owns``/``dump``/``load``.

    * ``name``: stored with each model version (``ModelVersion.flavor``), so it never changes once shipped.
    * ``suffixes``: file suffixes ``conveyor models import`` reads as this flavor (lower case, with the dot).
    * ``pickled``: its bytes are a pickle, so loading a file from elsewhere can run code and needs ``--trust``.
    * ``fallback``: asked last when detecting a model's flavor (the catch-all scikit-learn flavor).
    * ``requires``: extras of ``conveyor-mlops`` that loading and serving this flavor needs.
    * ``early_stopping``: :meth:`fit_early_stopping` works for this library's estimators.
    """

    name: str = ""
    suffixes: tuple[str, ...] = ()
    pickled: bool = False
    fallback: bool = False
    requires: tuple[str, ...] = ()
    early_stopping: bool = False

    # storing
    def owns(self, model: Any) -> bool:
        """Whether ``model`` is stored as this flavor (decided without importing the library)."""
        raise NotImplementedError

    def dump(self, model: Any) -> bytes:
        raise NotImplementedError

    def load(self, data: bytes) -> Any:
        """The model from :meth:`dump`'s bytes (only bytes whose digest was verified)."""
        raise NotImplementedError

    def read_file(self, path: Path) -> Any:
        """A model file saved elsewhere by the library itself (``conveyor models import``)."""
        return self.load(path.read_bytes())

    # describing
    def task(self, model: Any) -> tuple[str, list] | None:
        """("classification", classes) or ("regression", []) when the model itself says; None when it cannot."""
        classes = getattr(model, "classes_", None)
        if classes is not None:
            return "classification", [c.item() if hasattr(c, "item") else c for c in classes]
        return None

    def input_names(self, model: Any) -> list[str] | None:
        """The input columns the fitted model remembers, if it does."""
        names = getattr(model, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    # predicting (LoadedModel): a frame conformed to the signature
    def predict(self, model: Any, frame: pd.DataFrame, task: str, classes: list) -> np.ndarray:
        return np.asarray(model.predict(frame))

    def predict_proba(self, model: Any, frame: pd.DataFrame, task: str, classes: list) -> np.ndarray | None:
        if task != "classification" or not hasattr(model, "predict_proba"):
            return None
        return model.predict_proba(frame)

    # serving and explaining
    def native(self, estimator: Any) -> NativePredictor | None:
        """The native fast predictor of ``estimator`` (a fitted model of this library, native or wrapped), or None.
        Serving calls it on the model, or on the last step of a scikit-learn pipeline."""
        return None

    def contributions(self, estimator: Any, matrix: Any) -> np.ndarray | None:
        """Per-row feature contributions of ``estimator`` on the matrix it takes (see :class:`NativePredictor`),
        or None when this flavor cannot explain it (callers then fall back to occlusion or permutation)."""
        native = self.native(estimator)
        return None if native is None else native.contributions(matrix)

    # training
    def fit_early_stopping(self, estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, rounds: int) -> int:
        """Fit ``estimator`` stopping after ``rounds`` rounds without improvement on the validation rows; returns
        the number of rounds that did best. Only for flavors with ``early_stopping``."""
        raise NotImplementedError(f"The {self.name} flavor has no early stopping.")

    def __repr__(self) -> str:
        return f"<flavor {self.name}>"


def proba_columns(raw: np.ndarray) -> np.ndarray:
    """A booster's classifier output as one column per class (a binary booster gives the positive class only)."""
    return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw


class BoosterFlavor(Flavor):
    """A native booster (no scikit-learn API): predicts on a matrix, classifies by its objective."""

    def matrix(self, frame: pd.DataFrame) -> Any:
        """What the booster's own ``predict`` takes for a frame."""
        return frame

    def predict_proba(self, model: Any, frame: pd.DataFrame, task: str, classes: list) -> np.ndarray | None:
        if task != "classification":
            return None
        return proba_columns(np.asarray(model.predict(self.matrix(frame)), dtype=float))

    def predict(self, model: Any, frame: pd.DataFrame, task: str, classes: list) -> np.ndarray:
        if task == "classification":
            proba = proba_columns(np.asarray(model.predict(self.matrix(frame)), dtype=float))
            return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        return np.asarray(model.predict(self.matrix(frame)), dtype=float)
