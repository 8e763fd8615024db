"""Extremely randomised trees (scikit-learn), in the forests' search space."""

from __future__ import annotations

from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

from conveyor.train.families.random_forest import ForestFamily


class ExtraTreesFamily(ForestFamily):
    name = "extra_trees"
    regressor = ExtraTreesRegressor
    classifier = ExtraTreesClassifier
    warm_start = 5


FAMILY = ExtraTreesFamily()
