"""A model family a third party ships: k nearest neighbours, for classification only."""

from __future__ import annotations

from typing import Any

from sklearn.neighbors import KNeighborsClassifier

from conveyor.train.families import Family, SearchContext


class NearestNeighbors(Family):
    name = "knn"
    tasks = ("classification",)
    requires = (("sklearn", "train"),)
    needs_scaling = True
    encoding = "onehot"
    defaults = {"n_neighbors": 5}
    grid = [{"n_neighbors": k} for k in (3, 9)]
    warm_start = 10

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        return {"n_neighbors": trial.suggest_int(f"{self.param_prefix}.n_neighbors", 1, 30)}

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        return KNeighborsClassifier(**params)


FAMILY = NearestNeighbors()
