"""Linear models: logistic regression (classes) or ridge (values) on scaled, one-hot encoded inputs."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.train.families.base import Family, SearchContext, balanced, class_weight

with extra_imports("train"):
    from sklearn.linear_model import LogisticRegression, Ridge


class LinearFamily(Family):
    name = "linear"
    requires = (("sklearn", "train"),)
    needs_scaling = True
    encoding = "onehot"
    defaults = {"C": 1.0}
    grid = [{"C": c} for c in (0.01, 0.1, 1.0, 10.0)]
    warm_start = 0

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {"C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True), **balanced(trial, ctx, "linear")}

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        if ctx.task == "regression":
            return Ridge(alpha=1.0 / params["C"])
        return LogisticRegression(C=params["C"], max_iter=2000, class_weight=class_weight(params))


FAMILY = LinearFamily()
