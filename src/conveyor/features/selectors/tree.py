"""Tree importance (embedded): extra-trees impurity importance, keeps the top ``keep`` share of columns."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector

with extra_imports("features"):
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor


def extra_trees(data: SelectionData) -> Any:
    """The forest the tree-based methods score with."""
    cls = ExtraTreesRegressor if data.task == "regression" else ExtraTreesClassifier
    return cls(n_estimators=100, min_samples_leaf=3, n_jobs=1, random_state=data.seed)


class TreeImportance(Selector):
    name = "tree"

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        importances = extra_trees(data).fit(data.matrix, data.target).feature_importances_
        return data.ranked(data.per_column(importances, how=lambda a, b: a + b), "tree importance")


SELECTOR = TreeImportance()
