"""Bayesian search: Optuna's multivariate TPE, after eight startup trials (the warm-started defaults among them)."""

from __future__ import annotations

from conveyor.core.dependencies import extra_imports
from conveyor.train.searches.base import Search, SearchSpace

with extra_imports("train"):
    import optuna


class BayesianSearch(Search):
    name = "bayesian"

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=8)


SEARCH = BayesianSearch()
