"""Mutual-information filter: mutual information with the target, keeps the top ``keep`` share of columns."""

from __future__ import annotations

import numpy as np

from conveyor.core.dependencies import extra_imports
from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector

with extra_imports("features"):
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression


class MutualInfoFilter(Selector):
    name = "mutual_info"

    def decide(self, data: SelectionData) -> list[FeatureDecision]:
        score = mutual_info_regression if data.task == "regression" else mutual_info_classif
        values = score(data.matrix, data.target, discrete_features=np.asarray(data.discrete), random_state=data.seed)
        return data.ranked(data.per_column(values), "mutual information")


SELECTOR = MutualInfoFilter()
