"""Recursive feature elimination (wrapper) with extra trees, down to the top ``keep`` share of matrix columns."""

from __future__ import annotations

import math

from conveyor.core.dependencies import extra_imports
from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector
from conveyor.features.selectors.tree import extra_trees

with extra_imports("features"):
    from sklearn.feature_selection import RFE


class RecursiveElimination(Selector):
    name = "rfe"

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        n_keep = max(1, math.ceil(data.keep * data.matrix.shape[1]))
        rfe = RFE(extra_trees(data), n_features_to_select=n_keep, step=0.2).fit(data.matrix, data.target)
        ranks = data.per_column(rfe.ranking_.astype(float), how=min)
        return [FeatureDecision(c, r == 1, r, "kept by recursive elimination" if r == 1
                                else f"eliminated in round {int(r) - 1} of recursive elimination")
                for c, r in ranks.items()]


SELECTOR = RecursiveElimination()
