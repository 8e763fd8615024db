"""Bayesian search: Optuna's multivariate TPE, after eight startup trials (the warm-started defaults among them)."""

from __future__ import annotations

import optuna

from conveyor.train.searches.base import Search, SearchSpace


class BayesianSearch(Search):
    name = "bayesian"

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=8)


SEARCH = BayesianSearch()
