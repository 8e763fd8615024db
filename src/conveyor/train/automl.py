"""AutoML: an Optuna search over model families (each a scikit-learn pipeline with its preprocessing inside),
within a time and/or trial budget, scored on a validation split and reported on an untouched holdout."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from conveyor.core.errors import BadInputError, NotFoundError, first_line
from conveyor.evaluate.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    default_metric,
    evaluate_model,
    greater_is_better,
)
from conveyor.features.preprocess import build_preprocessor
from conveyor.train.space import FAMILIES, Family

SEARCHES = ("bayesian", "random", "grid")
TRIAL_ROWS = 30_000
MAX_CLASSES = 100  # trials fit on at most this many rows; the winner is refit on all training rows


@dataclass
class TrialResult:
    number: int
    family: str
    params: dict[str, Any]
    score: float | None
    seconds: float
    error: str | None = None


@dataclass
class AutoMLResult:
    pipeline: Pipeline
    task: str
    classes: list
    target: str
    features: list[str]
    metric: str
    family: str
    params: dict[str, Any]
    validation_score: float
    holdout_metrics: dict[str, float]
    trials: list[TrialResult] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)


def detect_task(y: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if pd.api.types.is_integer_dtype(y) and y.nunique() <= 20:
        return "classification"
    return "regression"


def natural_order(values: list) -> list:
    """Classes in the order estimators use for predict_proba columns (numeric order for numbers)."""
    try:
        return sorted(values)
    except TypeError:  # mixed types: estimators refuse them too, but the message should come from prepare
        return sorted(values, key=str)


def prepare(frame: pd.DataFrame, target: str, task: str = "auto") -> tuple[pd.DataFrame, str, list, dict[str, str]]:
    """Check the target, choose the task, and drop columns no model can use (with the reason)."""
    if target not in frame.columns:
        raise NotFoundError.for_name("target column", target, frame.columns)
    y = frame[target]
    if y.isna().any():
        raise BadInputError(f"Target column {target!r} has {int(y.isna().sum())} missing values.", field="target",
                            hint="Drop or fill those rows before training.")
    task = detect_task(y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise BadInputError(f"Unknown task {task!r}.", field="task", hint="Use auto, classification or regression.")
    classes: list = []
    if task == "classification":
        classes = natural_order(y.unique().tolist())
        if len(classes) > MAX_CLASSES:
            raise BadInputError(f"Target column {target!r} has {len(classes)} distinct labels: too many classes.",
                                field="target", hint="If it holds numbers, pass --task regression; a classifier "
                                f"needs labels that repeat (at most {MAX_CLASSES} classes).")
        if len(classes) < 2:
            raise BadInputError(f"Target column {target!r} has a single class {classes[0]!r}.", field="target",
                                hint="A classifier needs at least two classes in the training data.")
    elif not pd.api.types.is_numeric_dtype(y):
        raise BadInputError(f"Regression target {target!r} is not numeric.", field="target",
                            hint="Use --task classification, or convert the column to numbers.")
    dropped = {}
    for name in frame.columns:
        if name == target:
            continue
        series = frame[name]
        if series.isna().all():
            dropped[name] = "all values missing"
        elif pd.api.types.is_datetime64_any_dtype(series):
            dropped[name] = "datetime column (not yet expanded into features)"
        elif series.nunique(dropna=True) <= 1:
            dropped[name] = "constant"
        elif (not pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
              and series.nunique() > 0.5 * len(series) and len(series) > 50):
            dropped[name] = "looks like an identifier (almost every value distinct)"
    if frame.shape[1] == 1:
        raise BadInputError(f"The data holds only the target column {target!r}.", field="features",
                            hint="Add feature columns to predict it from.")
    if len(dropped) == frame.shape[1] - 1:
        raise BadInputError("No usable feature columns: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()),
                            field="features", hint="Add informative columns besides the target.")
    return frame.drop(columns=list(dropped)), task, classes, dropped


def _split(frame: pd.DataFrame, target: str, task: str, test_size: float, seed: int):
    stratify = frame[target] if task == "classification" and frame[target].value_counts().min() >= 2 else None
    return train_test_split(frame, test_size=test_size, random_state=seed, stratify=stratify)


def make_pipeline(family: Family, task: str, params: dict[str, Any], frame: pd.DataFrame, seed: int) -> Pipeline:
    return Pipeline([("prep", build_preprocessor(frame, scale=family.needs_scaling)),
                     ("model", family.build(task, params, seed))])


def _sampler(search: str, seed: int, grid_size: int) -> optuna.samplers.BaseSampler:
    if search == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if search == "grid":
        return optuna.samplers.GridSampler({"config": list(range(grid_size))}, seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=5)


def run_automl(frame: pd.DataFrame, target: str, *, task: str = "auto", metric: str | None = None,
               budget_seconds: float = 60.0, max_trials: int | None = None, search: str = "bayesian",
               families: list[str] | None = None, seed: int = 0, holdout: pd.DataFrame | None = None,
               on_trial: Callable[[TrialResult, float | None, float], None] | None = None) -> AutoMLResult:
    if search not in SEARCHES:
        raise BadInputError(f"Unknown search {search!r}.", field="search", hint=f"Use one of {', '.join(SEARCHES)}.")
    names = families or list(FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise BadInputError(f"Unknown model families {unknown}.", field="families", hint=f"Known: {list(FAMILIES)}.")
    frame, task, classes, dropped = prepare(frame, target, task)
    allowed = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    metric = metric or default_metric(task, len(classes))
    if metric not in allowed:
        raise BadInputError(f"Metric {metric!r} does not fit a {task} task.", field="metric",
                            hint=f"Use one of {', '.join(allowed)}.")
    if len(frame) < 10:
        raise BadInputError(f"Only {len(frame)} rows: too few to train and hold out a test set.", field="data",
                            hint="Give at least 10 rows (hundreds for a useful model).")
    if holdout is None:
        train, holdout = _split(frame, target, task, 0.2, seed)
    else:
        train = frame
        holdout = holdout[[c for c in frame.columns if c in holdout.columns]]
    fit_part, valid = _split(train, target, task, 0.2, seed)
    trial_fit = fit_part.sample(TRIAL_ROWS, random_state=seed) if len(fit_part) > TRIAL_ROWS else fit_part
    features = [c for c in frame.columns if c != target]
    sign = 1.0 if greater_is_better(metric) else -1.0
    grid = [(n, p) for n in names for p in FAMILIES[n].grid]
    trials: list[TrialResult] = []
    started = time.monotonic()

    def objective(trial: optuna.Trial) -> float:
        if search == "grid":
            family_name, params = grid[trial.suggest_int("config", 0, len(grid) - 1)]
        else:
            family_name = trial.suggest_categorical("family", names)
            params = FAMILIES[family_name].suggest(trial)
        t0 = time.monotonic()
        pipeline = make_pipeline(FAMILIES[family_name], task, params, trial_fit[features], seed)
        try:
            pipeline.fit(trial_fit[features], trial_fit[target])
            score = evaluate_model(pipeline, valid[[*features, target]], target, task, classes).get(metric)
        except (ValueError, MemoryError) as exc:
            trials.append(TrialResult(trial.number, family_name, params, None, time.monotonic() - t0, str(exc)))
            raise optuna.TrialPruned(str(exc)) from None
        if score is None or not np.isfinite(score):
            trials.append(TrialResult(trial.number, family_name, params, None, time.monotonic() - t0,
                                      f"{metric} undefined on the validation split"))
            raise optuna.TrialPruned(f"{metric} undefined")
        result = TrialResult(trial.number, family_name, params, float(score), time.monotonic() - t0)
        trials.append(result)
        if on_trial:
            scored = [t.score for t in trials if t.score is not None]
            best = max(scored, key=lambda s: sign * s)
            on_trial(result, best, time.monotonic() - started)
        trial.set_user_attr("family", family_name)
        trial.set_user_attr("params", params)
        return sign * float(score)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=_sampler(search, seed, len(grid)))
    if search != "grid":
        for name in ("lightgbm", "linear", "random_forest"):
            if name in names:
                study.enqueue_trial({"family": name, **{f"{name}.{k}": v for k, v in FAMILIES[name].defaults.items()}},
                                    skip_if_exists=True)
    n_trials = max_trials if search != "grid" else min(max_trials or len(grid), len(grid))
    study.optimize(objective, n_trials=n_trials, timeout=budget_seconds, catch=())
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        errors = sorted({first_line(t.error) for t in trials if t.error})
        reasons = "; ".join(errors[:3]) or "no trial finished within the budget"
        raise BadInputError(f"No model could be trained: {reasons}", field="data",
                            hint="Check the data, or give a larger --budget.")
    best = study.best_trial
    family_name, params = best.user_attrs["family"], best.user_attrs["params"]
    pipeline = make_pipeline(FAMILIES[family_name], task, params, train[features], seed)
    pipeline.fit(train[features], train[target])
    holdout_metrics = evaluate_model(pipeline, holdout[[*features, target]], target, task, classes)
    return AutoMLResult(pipeline, task, classes, target, features, metric, family_name, params,
                        sign * best.value, holdout_metrics, trials, dropped)
