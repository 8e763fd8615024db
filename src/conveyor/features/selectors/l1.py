"""L1 (embedded): an L1-penalised linear model on standardised inputs keeps the columns it gives a weight.

Regression uses the lasso with a cross-validated penalty; classification a logistic regression with a pure L1
penalty. scikit-learn 1.8 changed how that penalty is asked for (``l1_ratio=1.0``, ``penalty`` deprecated), while
before 1.8 ``l1_ratio`` is ignored unless ``penalty="elasticnet"``: :func:`l1_logistic` asks the installed version
the way it understands, so the selection is L1 on every scikit-learn this package allows.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from conveyor.core.dependencies import extra_imports
from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector

with extra_imports("features"):
    from sklearn.linear_model import LassoCV, LogisticRegression
    from sklearn.preprocessing import StandardScaler

ZERO = 1e-8


def penalty_is_deprecated() -> bool:
    """scikit-learn >= 1.8: ``penalty`` defaults to "deprecated" and ``l1_ratio`` alone picks the penalty."""
    return inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated"


def l1_logistic(seed: int, *, C: float = 0.1) -> Any:
    """A logistic regression with a pure L1 penalty, asked for the way the installed scikit-learn understands."""
    penalty = {"l1_ratio": 1.0} if penalty_is_deprecated() else {"penalty": "l1"}
    return LogisticRegression(**penalty, C=C, solver="saga", max_iter=2000, random_state=seed)


class L1Selection(Selector):
    name = "l1"

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        scaled = StandardScaler().fit_transform(data.matrix)
        if data.task == "regression":
            weights = np.abs(LassoCV(cv=3, random_state=data.seed).fit(scaled, data.target).coef_)
        else:
            weights = np.abs(l1_logistic(data.seed).fit(scaled, data.target).coef_).max(axis=0)
        scores = data.per_column(weights)
        return [FeatureDecision(c, s > ZERO, s, f"L1 weight {s:.4f}" + ("" if s > ZERO else ": shrunk to zero"))
                for c, s in scores.items()]


SELECTOR = L1Selection()
