"""Model families and their search spaces. Each family's first configuration is its library defaults,
so a short budget still gets a strong model (plain defaults were often hard to beat here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import optuna
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge


@dataclass(frozen=True)
class Family:
    name: str
    needs_scaling: bool
    defaults: dict[str, Any]
    suggest: Callable[[optuna.Trial], dict[str, Any]]
    build: Callable[[str, dict[str, Any], int], Any]
    grid: list[dict[str, Any]]


def _linear_suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {"C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True)}


def _linear_build(task: str, p: dict[str, Any], seed: int) -> Any:
    if task == "regression":
        return Ridge(alpha=1.0 / p["C"])
    return LogisticRegression(C=p["C"], max_iter=2000)


def _forest_suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("forest.n_estimators", 50, 300, step=50),
        "max_depth": trial.suggest_int("forest.max_depth", 4, 24),
        "min_samples_leaf": trial.suggest_int("forest.min_samples_leaf", 1, 20, log=True),
        "max_features": trial.suggest_categorical("forest.max_features", ["sqrt", 0.5, 1.0]),
    }


def _forest_build(task: str, p: dict[str, Any], seed: int) -> Any:
    cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
    return cls(**p, n_jobs=1, random_state=seed)


def _lgbm_suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("lightgbm.n_estimators", 50, 600, step=50),
        "learning_rate": trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("lightgbm.num_leaves", 8, 128, log=True),
        "min_child_samples": trial.suggest_int("lightgbm.min_child_samples", 5, 100, log=True),
        "subsample": trial.suggest_float("lightgbm.subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("lightgbm.colsample_bytree", 0.5, 1.0),
        "reg_lambda": trial.suggest_float("lightgbm.reg_lambda", 1e-3, 10.0, log=True),
    }


def _lgbm_build(task: str, p: dict[str, Any], seed: int) -> Any:
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    extra = {"subsample_freq": 1} if p.get("subsample", 1.0) < 1.0 else {}
    return cls(**p, **extra, random_state=seed, n_jobs=1, verbose=-1)


FAMILIES: dict[str, Family] = {
    "linear": Family("linear", True, {"C": 1.0}, _linear_suggest, _linear_build,
                     [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)]),
    "random_forest": Family("random_forest", False,
                            {"n_estimators": 100, "max_depth": 16, "min_samples_leaf": 2, "max_features": "sqrt"},
                            _forest_suggest, _forest_build,
                            [{"n_estimators": 100, "max_depth": d, "min_samples_leaf": leaf, "max_features": "sqrt"}
                             for d in (8, 16) for leaf in (1, 5)]),
    "lightgbm": Family("lightgbm", False,
                       {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                        "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3},
                       _lgbm_suggest, _lgbm_build,
                       [{"n_estimators": n, "learning_rate": lr, "num_leaves": leaves, "min_child_samples": 20,
                         "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3}
                        for n in (100, 300) for lr in (0.05, 0.1) for leaves in (15, 63)]),
}
