"""Random search: every family and parameter drawn uniformly (log-uniformly where the space says so)."""

from __future__ import annotations

import optuna

from conveyor.train.searches.base import Search, SearchSpace


class RandomSearch(Search):
    name = "random"

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=seed)


SEARCH = RandomSearch()
