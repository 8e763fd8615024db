"""Random forests (scikit-learn), and the search space every bagged forest shares (extra trees reuse it)."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.train.families.base import Family, SearchContext, balanced, class_weight, without_balanced

with extra_imports("train"):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

# the classifiers' own values (no depth limit). The regressors' own max_features is 1.0 (every column at every
# split); "sqrt" is kept for both tasks: several times faster on wide tables, and the search also tries 1.0
FOREST_DEFAULTS = {"n_estimators": 100, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt"}
DEPTH_CEILING = 32  # the search draws max_depth from 4 to 32, which cannot hold "no limit"
FOREST_GRID = [{"n_estimators": 200, "max_depth": d, "min_samples_leaf": leaf, "max_features": "sqrt"}
               for d in (8, 32) for leaf in (1, 5)]


class ForestFamily(Family):
    """A scikit-learn forest: ``regressor`` and ``classifier`` are its two estimator classes."""

    requires = (("sklearn", "train"),)
    defaults = FOREST_DEFAULTS
    recorded_defaults = {**FOREST_DEFAULTS, "max_depth": DEPTH_CEILING}
    grid = FOREST_GRID
    regressor: type = RandomForestRegressor
    classifier: type = RandomForestClassifier

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        prefix = self.param_prefix
        return {
            "n_estimators": trial.suggest_int(f"{prefix}.n_estimators", 50, 300, step=50),
            "max_depth": trial.suggest_int(f"{prefix}.max_depth", 4, 32),
            "min_samples_leaf": trial.suggest_int(f"{prefix}.min_samples_leaf", 1, 20, log=True),
            "max_features": trial.suggest_categorical(f"{prefix}.max_features", ["sqrt", 0.5, 1.0]),
            **balanced(trial, ctx, prefix),
        }

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        kept = without_balanced(params)
        if ctx.task == "regression":
            return self.regressor(**kept, n_jobs=1, random_state=seed)
        return self.classifier(**kept, class_weight=class_weight(params), n_jobs=1, random_state=seed)


class RandomForestFamily(ForestFamily):
    name = "random_forest"
    prefix = "forest"
    warm_start = 2


FAMILY = RandomForestFamily()
