"""One fold of one trial: the unit of work sent to an executor (inline, local processes or Ray).

The training rows travel once: in-process executors get the object itself, others a path to a pickled copy that
each worker loads once and keeps (a small cache per process). Fit functions are module-level so they pickle.
"""

from __future__ import annotations

import pickle
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import first_line
from conveyor.evaluate.metrics import classification_metrics, regression_metrics
from conveyor.features.preprocess import build_preprocessor
from conveyor.train.families import EARLY_STOPPING_ROUNDS, Family, SearchContext

with extra_imports("train"):
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

_single_threaded = False  # set while a search (or this worker process) holds native thread pools at one thread


@contextmanager
def single_threaded() -> Iterator[None]:
    """Native thread pools (OpenMP, BLAS) at one thread for the block, as every family's own ``n_jobs=1``: a search
    runs one fit per worker, and HistGradientBoosting's OpenMP threads beside a busy core took 48 s for one 10-class
    fold of digits where one thread takes 1.7 s (a 10 s budget ended after 56 s)."""
    global _single_threaded
    if _single_threaded:
        yield
        return
    with threadpool_limits(limits=1):
        _single_threaded = True
        try:
            yield
        finally:
            _single_threaded = False


def _hold_worker_single_threaded() -> None:
    """In a worker process (not inside the search's own :func:`single_threaded`): one thread for the rest of its
    life, set once, as limiting per fold costs about a millisecond a call."""
    global _single_threaded
    if not _single_threaded:
        threadpool_limits(limits=1)
        _single_threaded = True


@dataclass
class TrialData:
    X: pd.DataFrame
    y: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]
    ctx: SearchContext
    classes: list
    metric: str
    seed: int
    features: list[str] = field(default_factory=list)  # the selected input columns the preprocessor reads


@dataclass
class FoldResult:
    fold: int
    score: float | None
    seconds: float
    best_iteration: int | None = None
    predictions: np.ndarray | None = None  # validation rows' probabilities (classifiers) or predictions
    error: str | None = None
    predict_per_row: float | None = None  # seconds the validation rows' prediction took, per row


def make_pipeline(family: Family, ctx: SearchContext, params: dict[str, Any], frame: pd.DataFrame,
                  seed: int) -> Pipeline:
    target_type = "continuous" if ctx.task == "regression" else ("binary" if ctx.n_classes == 2 else "multiclass")
    return Pipeline([("prep", build_preprocessor(frame, scale=family.needs_scaling, encoding=family.encoding,
                                                 target_type=target_type)),
                     ("model", family.build(ctx, params, seed))])


def save_data(data: TrialData, path: str) -> str:
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=5)
    return path


@lru_cache(maxsize=4)
def _load(path: str) -> TrialData:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # a file this process's parent wrote a moment ago


def _fit_early_stopping(pipeline: Pipeline, family: Family, X_fit, y_fit, X_valid, y_valid) -> int:
    """Fit with early stopping on the validation fold; returns the number of rounds that did best."""
    transform = pipeline[:-1]
    Xt = transform.fit_transform(X_fit, y_fit)
    Xv = transform.transform(X_valid)
    return family.fit_early_stopping(pipeline.steps[-1][1], Xt, y_fit, Xv, y_valid, EARLY_STOPPING_ROUNDS)


def score_predictions(data: TrialData, y_true: np.ndarray, output: np.ndarray) -> float | None:
    if data.ctx.task == "regression":
        return regression_metrics(y_true, output).get(data.metric)
    predicted = np.asarray(data.classes)[np.asarray(output).argmax(axis=1)]
    return classification_metrics(y_true, predicted, output, data.classes, only=data.metric).get(data.metric)


def run_fold(data_ref: TrialData | str, family: Family, params: dict[str, Any], fold: int,
             early_stopping: bool = True) -> FoldResult:
    """One fold: fit, predict the validation rows, score them. ``early_stopping=False`` fits the parameters as
    they are (a family's defaults trial: the model a user gets from the library, scored without choosing its
    rounds on the rows it is scored on)."""
    data = _load(data_ref) if isinstance(data_ref, str) else data_ref
    _hold_worker_single_threaded()
    started = time.monotonic()
    train_idx, valid_idx = data.folds[fold]
    X_fit, y_fit = data.X.iloc[train_idx], data.y.iloc[train_idx]
    X_valid, y_valid = data.X.iloc[valid_idx], data.y.iloc[valid_idx]
    pipeline = make_pipeline(family, data.ctx, params, data.X[data.features or list(data.X.columns)], data.seed)
    best = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a trial's convergence notes are search noise, not the user's concern
            if family.early_stopping and early_stopping:
                best = _fit_early_stopping(pipeline, family, X_fit, y_fit, X_valid, y_valid)
            else:
                pipeline.fit(X_fit, y_fit)
            predicting = time.monotonic()
            if data.ctx.task == "regression":
                output = np.asarray(pipeline.predict(X_valid), dtype=float)
            else:
                output = np.asarray(pipeline.predict_proba(X_valid), dtype=float)
            predict_per_row = (time.monotonic() - predicting) / max(len(X_valid), 1)
        score = score_predictions(data, y_valid.to_numpy(), output)
    except (ValueError, MemoryError, TypeError) as exc:
        return FoldResult(fold, None, time.monotonic() - started, error=first_line(exc))
    if score is None or not np.isfinite(score):
        return FoldResult(fold, None, time.monotonic() - started, error=f"{data.metric} undefined on this fold")
    return FoldResult(fold, float(score), time.monotonic() - started, best, output, predict_per_row=predict_per_row)
