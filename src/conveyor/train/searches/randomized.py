"""Random search: every family and parameter drawn uniformly (log-uniformly where the space says so)."""

from __future__ import annotations

from conveyor.core.dependencies import extra_imports
from conveyor.train.searches.base import Search, SearchSpace

with extra_imports("train"):
    import optuna


class RandomSearch(Search):
    name = "random"

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)


SEARCH = RandomSearch()
