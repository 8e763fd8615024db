"""scikit-learn's histogram gradient boosting, with its own early stopping on an internal validation split."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.train.families.base import Family, SearchContext, balanced, class_weight, without_balanced

with extra_imports("train"):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor


# HistGradientBoosting{Classifier,Regressor}()'s own values: no L2 penalty, 100 rounds, early stopping only on more
# than 10,000 rows ("auto") with a patience of 10. The searched trials keep more rounds and early stopping always on.
DEFAULTS = {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0,
            "max_iter": 100, "early_stopping": "auto", "n_iter_no_change": 10}
SEARCHED = {"max_iter": 200, "early_stopping": True, "n_iter_no_change": 20}
L2_FLOOR = 1e-4  # the search draws l2_regularization on a log scale, which cannot hold 0


class HistGradientBoostingFamily(Family):
    name = "hist_gradient_boosting"
    prefix = "hgb"
    requires = (("sklearn", "train"),)
    defaults = DEFAULTS
    recorded_defaults = {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20,
                         "l2_regularization": L2_FLOOR}
    grid = [{"learning_rate": lr, "max_leaf_nodes": leaves, "min_samples_leaf": 20, "l2_regularization": 1e-4}
            for lr in (0.05, 0.1) for leaves in (15, 63)]
    warm_start = 4

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("hgb.learning_rate", 0.02, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("hgb.max_leaf_nodes", 8, 128, log=True),
            "min_samples_leaf": trial.suggest_int("hgb.min_samples_leaf", 5, 100, log=True),
            "l2_regularization": trial.suggest_float("hgb.l2_regularization", 1e-4, 10.0, log=True),
            **balanced(trial, ctx, "hgb"),
        }

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        kept = without_balanced(params)
        kept = {**SEARCHED, **kept, "random_state": seed}  # the defaults trial brings the library's own rounds
        if ctx.task == "regression":
            return HistGradientBoostingRegressor(**kept)
        return HistGradientBoostingClassifier(**kept, class_weight=class_weight(params))


FAMILY = HistGradientBoostingFamily()
