"""XGBoost's scikit-learn estimators (extra ``xgboost``); classifiers learn label codes through
:class:`~conveyor.train.estimators.EncodedLabels`; stops early on each validation fold (the ``xgboost`` flavor)."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import require
from conveyor.train.estimators import EncodedLabels
from conveyor.train.families.base import Family, SearchContext, balanced, without_balanced

DEFAULTS = {"n_estimators": 100, "learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0,
            "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0}


class XGBoostFamily(Family):
    name = "xgboost"
    requires = (("xgboost", "xgboost"),)
    defaults = DEFAULTS
    grid = [{**DEFAULTS, "n_estimators": 300, "learning_rate": lr, "max_depth": d}
            for lr in (0.05, 0.1) for d in (4, 6)]
    early_stopping = True
    rounds_trial = {"n_estimators": 1000, "learning_rate": 0.1}  # 0.3 stops within 100 rounds, as the defaults do
    flavor = "xgboost"
    warm_start = 3

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("xgboost.n_estimators", 100, 1000, log=True),
            "learning_rate": trial.suggest_float("xgboost.learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("xgboost.max_depth", 2, 10),
            "min_child_weight": trial.suggest_float("xgboost.min_child_weight", 0.5, 20.0, log=True),
            "subsample": trial.suggest_float("xgboost.subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("xgboost.colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("xgboost.reg_lambda", 1e-3, 10.0, log=True),
            **(balanced(trial, ctx, "xgboost") if ctx.n_classes == 2 else {}),
        }

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        xgb = require("xgboost", "xgboost", field="train.families")
        kept = without_balanced(params)
        common = {"tree_method": "hist", "n_jobs": 1, "random_state": seed, "verbosity": 0, "device": ctx.device}
        if ctx.task == "regression":
            return xgb.XGBRegressor(**kept, **common)
        weight = {"scale_pos_weight": ctx.pos_weight} if params.get("balanced") else {}
        return EncodedLabels(xgb.XGBClassifier(**kept, **common, **weight))


FAMILY = XGBoostFamily()
