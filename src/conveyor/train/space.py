"""Model families and their search spaces. Each family's first configuration is its library defaults,
so a short budget still gets a strong model (plain defaults were often hard to beat here).

A family knows whether its model needs scaled inputs, which category encoding suits it, whether it supports early
stopping on a validation fold (LightGBM, XGBoost), and how to weigh classes when the target is imbalanced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.core.dependencies import extra_imports, require
from conveyor.train.estimators import EncodedLabels

with extra_imports("train"):
    import lightgbm as lgb
    import optuna
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge

IMBALANCE_RATIO = 0.2  # minority share below which class weighting joins the search
EARLY_STOPPING_ROUNDS = 30


@dataclass(frozen=True)
class SearchContext:
    task: str
    n_classes: int = 0
    imbalanced: bool = False
    pos_weight: float = 1.0  # negatives per positive, for XGBoost's scale_pos_weight


@dataclass(frozen=True)
class Family:
    name: str
    needs_scaling: bool
    encoding: str  # onehot | ordinal
    defaults: dict[str, Any]
    suggest: Callable[[optuna.Trial, SearchContext], dict[str, Any]]
    build: Callable[[SearchContext, dict[str, Any], int], Any]
    grid: list[dict[str, Any]]
    early_stopping: bool = False


def _balanced(trial: optuna.Trial, ctx: SearchContext, prefix: str) -> dict[str, Any]:
    if ctx.task != "classification" or not ctx.imbalanced:
        return {}
    return {"balanced": trial.suggest_categorical(f"{prefix}.balanced", [False, True])}


def _class_weight(p: dict[str, Any]) -> str | None:
    return "balanced" if p.get("balanced") else None


def _linear_suggest(trial: optuna.Trial, ctx: SearchContext) -> dict[str, Any]:
    return {"C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True), **_balanced(trial, ctx, "linear")}


def _linear_build(ctx: SearchContext, p: dict[str, Any], seed: int) -> Any:
    if ctx.task == "regression":
        return Ridge(alpha=1.0 / p["C"])
    return LogisticRegression(C=p["C"], max_iter=2000, class_weight=_class_weight(p))


def _forest_suggest(prefix: str) -> Callable[[optuna.Trial, SearchContext], dict[str, Any]]:
    def suggest(trial: optuna.Trial, ctx: SearchContext) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int(f"{prefix}.n_estimators", 50, 300, step=50),
            "max_depth": trial.suggest_int(f"{prefix}.max_depth", 4, 32),
            "min_samples_leaf": trial.suggest_int(f"{prefix}.min_samples_leaf", 1, 20, log=True),
            "max_features": trial.suggest_categorical(f"{prefix}.max_features", ["sqrt", 0.5, 1.0]),
            **_balanced(trial, ctx, prefix),
        }
    return suggest


def _forest_build(regressor: type, classifier: type) -> Callable[[SearchContext, dict[str, Any], int], Any]:
    def build(ctx: SearchContext, p: dict[str, Any], seed: int) -> Any:
        params = {k: v for k, v in p.items() if k != "balanced"}
        if ctx.task == "regression":
            return regressor(**params, n_jobs=1, random_state=seed)
        return classifier(**params, class_weight=_class_weight(p), n_jobs=1, random_state=seed)
    return build


def _hgb_suggest(trial: optuna.Trial, ctx: SearchContext) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("hgb.learning_rate", 0.02, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("hgb.max_leaf_nodes", 8, 128, log=True),
        "min_samples_leaf": trial.suggest_int("hgb.min_samples_leaf", 5, 100, log=True),
        "l2_regularization": trial.suggest_float("hgb.l2_regularization", 1e-4, 10.0, log=True),
        **_balanced(trial, ctx, "hgb"),
    }


def _hgb_build(ctx: SearchContext, p: dict[str, Any], seed: int) -> Any:
    params = {k: v for k, v in p.items() if k != "balanced"}
    common = {"max_iter": 200, "early_stopping": True, "n_iter_no_change": 20, "random_state": seed}
    if ctx.task == "regression":
        return HistGradientBoostingRegressor(**params, **common)
    return HistGradientBoostingClassifier(**params, **common, class_weight=_class_weight(p))


def _lgbm_suggest(trial: optuna.Trial, ctx: SearchContext) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("lightgbm.n_estimators", 100, 1000, log=True),
        "learning_rate": trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("lightgbm.num_leaves", 4, 128, log=True),
        "min_child_samples": trial.suggest_int("lightgbm.min_child_samples", 2, 100, log=True),
        "subsample": trial.suggest_float("lightgbm.subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("lightgbm.colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("lightgbm.reg_lambda", 1e-3, 10.0, log=True),
        **_balanced(trial, ctx, "lightgbm"),
    }


def _lgbm_build(ctx: SearchContext, p: dict[str, Any], seed: int) -> Any:
    params = {k: v for k, v in p.items() if k != "balanced"}
    extra = {"subsample_freq": 1} if params.get("subsample", 1.0) < 1.0 else {}
    if ctx.task == "regression":
        return lgb.LGBMRegressor(**params, **extra, random_state=seed, n_jobs=1, verbose=-1)
    return lgb.LGBMClassifier(**params, **extra, class_weight=_class_weight(p), random_state=seed, n_jobs=1,
                              verbose=-1)


def _xgb_suggest(trial: optuna.Trial, ctx: SearchContext) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("xgboost.n_estimators", 100, 1000, log=True),
        "learning_rate": trial.suggest_float("xgboost.learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("xgboost.max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("xgboost.min_child_weight", 0.5, 20.0, log=True),
        "subsample": trial.suggest_float("xgboost.subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("xgboost.colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("xgboost.reg_lambda", 1e-3, 10.0, log=True),
        **(_balanced(trial, ctx, "xgboost") if ctx.n_classes == 2 else {}),
    }


def _xgb_build(ctx: SearchContext, p: dict[str, Any], seed: int) -> Any:
    xgb = require("xgboost", "xgboost")  # only searches that include it pay its import

    params = {k: v for k, v in p.items() if k != "balanced"}
    common = {"tree_method": "hist", "n_jobs": 1, "random_state": seed, "verbosity": 0}
    if ctx.task == "regression":
        return xgb.XGBRegressor(**params, **common)
    weight = {"scale_pos_weight": ctx.pos_weight} if p.get("balanced") else {}
    return EncodedLabels(xgb.XGBClassifier(**params, **common, **weight))


LGBM_DEFAULTS = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                 "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1e-3}
XGB_DEFAULTS = {"n_estimators": 100, "learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0,
                "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0}
FOREST_DEFAULTS = {"n_estimators": 100, "max_depth": 32, "min_samples_leaf": 1, "max_features": "sqrt"}
FOREST_GRID = [{"n_estimators": 200, "max_depth": d, "min_samples_leaf": leaf, "max_features": "sqrt"}
               for d in (8, 32) for leaf in (1, 5)]

FAMILIES: dict[str, Family] = {
    "linear": Family("linear", True, "onehot", {"C": 1.0}, _linear_suggest, _linear_build,
                     [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)]),
    "random_forest": Family("random_forest", False, "ordinal", FOREST_DEFAULTS, _forest_suggest("forest"),
                            _forest_build(RandomForestRegressor, RandomForestClassifier), FOREST_GRID),
    "extra_trees": Family("extra_trees", False, "ordinal", FOREST_DEFAULTS, _forest_suggest("extra_trees"),
                          _forest_build(ExtraTreesRegressor, ExtraTreesClassifier), FOREST_GRID),
    "hist_gradient_boosting": Family(
        "hist_gradient_boosting", False, "ordinal",
        {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 1e-4},
        _hgb_suggest, _hgb_build,
        [{"learning_rate": lr, "max_leaf_nodes": leaves, "min_samples_leaf": 20, "l2_regularization": 1e-4}
         for lr in (0.05, 0.1) for leaves in (15, 63)]),
    "lightgbm": Family("lightgbm", False, "ordinal", LGBM_DEFAULTS, _lgbm_suggest, _lgbm_build,
                       [{**LGBM_DEFAULTS, "n_estimators": n, "learning_rate": lr, "num_leaves": leaves}
                        for n in (100, 300) for lr in (0.05, 0.1) for leaves in (15, 63)], early_stopping=True),
    "xgboost": Family("xgboost", False, "ordinal", XGB_DEFAULTS, _xgb_suggest, _xgb_build,
                      [{**XGB_DEFAULTS, "n_estimators": 300, "learning_rate": lr, "max_depth": d}
                       for lr in (0.05, 0.1) for d in (4, 6)], early_stopping=True),
}

# Enqueued first, in this order: strong library defaults so that a short budget still ends with a good model.
WARM_START = ("lightgbm", "linear", "random_forest", "xgboost", "hist_gradient_boosting", "extra_trees")
