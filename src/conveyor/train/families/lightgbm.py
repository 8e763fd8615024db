"""LightGBM's scikit-learn estimators; stops early on each validation fold (the ``lightgbm`` flavor fits it)."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import require
from conveyor.train.families.base import Family, SearchContext, balanced, class_weight, without_balanced

# LGBMClassifier()'s and LGBMRegressor()'s own values; reg_lambda=0 matters: on segment (7 classes) an L2 of 1e-3
# moved the test log-loss from 0.0387 to 0.0505, leaves on rows with tiny hessians (confident classes) grow large
DEFAULTS = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
            "min_child_weight": 1e-3, "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 0.0}
REG_LAMBDA_FLOOR = 1e-3  # the search draws reg_lambda on a log scale, which cannot hold 0
# XGBoost's default floor on a leaf's summed hessians, where LightGBM's is 1e-3. A class a leaf is sure of has
# hessians p(1-p) near 0, so without the floor its value (gradient over hessian) blows up: LightGBM's 15-class
# defaults on flights_carrier scored test log-loss 25.6 and 30.8 (two splits), 0.338 with this floor alone. It costs
# where the classes are easy (segment 0.0387 -> 0.0465, wine 0.0016 -> 0.028), so the defaults keep 1e-3, the search
# draws it for classes, and a refit that diverged is fitted again with it (``guard``).
HESSIAN_FLOOR = 1.0


class LightGBMFamily(Family):
    name = "lightgbm"
    requires = (("lightgbm", "train"),)
    defaults = DEFAULTS
    recorded_defaults = {**DEFAULTS, "reg_lambda": REG_LAMBDA_FLOOR}
    grid = [{**DEFAULTS, "n_estimators": n, "learning_rate": lr, "num_leaves": leaves}
            for n in (100, 300) for lr in (0.05, 0.1) for leaves in (15, 63)]
    early_stopping = True
    rounds_trial = {"n_estimators": 1000}  # the search space's most; early stopping ends it sooner
    guard = {"min_child_weight": HESSIAN_FLOOR}
    flavor = "lightgbm"
    warm_start = 1

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("lightgbm.n_estimators", 100, 1000, log=True),
            "learning_rate": trial.suggest_float("lightgbm.learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("lightgbm.num_leaves", 4, 128, log=True),
            "min_child_samples": trial.suggest_int("lightgbm.min_child_samples", 2, 100, log=True),
            **hessian_floor(trial, ctx),
            "subsample": trial.suggest_float("lightgbm.subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("lightgbm.colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("lightgbm.reg_lambda", REG_LAMBDA_FLOOR, 10.0, log=True),
            **balanced(trial, ctx, "lightgbm"),
        }

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        lgb = require("lightgbm", "train", field="train.families")
        kept = without_balanced(params)
        extra = {"subsample_freq": 1} if kept.get("subsample", 1.0) < 1.0 else {}
        if ctx.task == "regression":
            return lgb.LGBMRegressor(**kept, **extra, random_state=seed, n_jobs=1, verbose=-1)
        return lgb.LGBMClassifier(**kept, **extra, class_weight=class_weight(params), random_state=seed, n_jobs=1,
                                  verbose=-1)


def hessian_floor(trial: Any, ctx: SearchContext) -> dict[str, Any]:
    """The floor on a leaf's hessians joins the search for classes only: a regression row's hessian is 1, and
    ``min_child_samples`` already bounds their sum."""
    if ctx.task != "classification":
        return {}
    return {"min_child_weight": trial.suggest_float("lightgbm.min_child_weight", 1e-3, 10.0, log=True)}


FAMILY = LightGBMFamily()
