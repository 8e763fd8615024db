"""Extremely randomised trees (scikit-learn), in the forests' search space."""

from __future__ import annotations

from conveyor.core.dependencies import extra_imports
from conveyor.train.families.random_forest import ForestFamily

with extra_imports("train"):
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor


class ExtraTreesFamily(ForestFamily):
    name = "extra_trees"
    regressor = ExtraTreesRegressor
    classifier = ExtraTreesClassifier
    warm_start = 5


FAMILY = ExtraTreesFamily()
