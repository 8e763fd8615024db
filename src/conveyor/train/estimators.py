"""Estimators saved inside models: a label encoder around classifiers that want 0..k-1 labels (XGBoost), and the
weighted ensemble of the best trials. Both are plain scikit-learn estimators, so serving needs nothing special."""

from __future__ import annotations

from typing import Any

import numpy as np

from conveyor.core.dependencies import extra_imports

with extra_imports("train"):
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class EncodedLabels(ClassifierMixin, BaseEstimator):
    """Fits ``estimator`` on label codes and answers in the original labels."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X, y, **fit_params):
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if "eval_set" in fit_params:
            fit_params["eval_set"] = [(xv, np.searchsorted(self.classes_, np.asarray(yv)))
                                      for xv, yv in fit_params["eval_set"]]
        self.estimator.fit(X, codes, **fit_params)
        return self

    @property
    def best_iteration(self) -> int | None:
        return getattr(self.estimator, "best_iteration", None)

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.estimator.feature_importances_

    def predict_proba(self, X) -> np.ndarray:
        return self.estimator.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.asarray(self.predict_proba(X)).argmax(axis=1)]


class Ensemble(BaseEstimator):
    """A weighted average of fitted pipelines' probabilities (classifiers) or predictions (regressors)."""

    def __init__(self, members: list, weights: list[float], task: str, classes: list | None = None) -> None:
        self.members = members
        self.weights = weights
        self.task = task
        self.classes = classes

    def fit(self, X, y):  # members arrive fitted; refitting them is the trainer's job
        return self

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes)

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self.task == "classification" else "regressor"

    def _average(self, outputs: list[np.ndarray]) -> np.ndarray:
        weights = np.asarray(self.weights, dtype=float)
        return np.tensordot(weights / weights.sum(), np.stack(outputs), axes=1)

    def predict_proba(self, X) -> np.ndarray:
        return self._average([np.asarray(m.predict_proba(X), dtype=float) for m in self.members])

    def predict(self, X) -> np.ndarray:
        if self.task == "classification":
            return np.asarray(self.classes)[self.predict_proba(X).argmax(axis=1)]
        return self._average([np.asarray(m.predict(X), dtype=float) for m in self.members])


class EnsembleClassifier(ClassifierMixin, Ensemble):
    pass


class EnsembleRegressor(RegressorMixin, Ensemble):
    def predict_proba(self, X) -> np.ndarray:
        raise AttributeError("a regressor has no predict_proba")


def make_ensemble(members: list, weights: list[float], task: str, classes: list | None) -> Ensemble:
    cls = EnsembleRegressor if task == "regression" else EnsembleClassifier
    return cls(members, weights, task, classes)
