"""Grid search: each family's own short list of configurations, in a seeded order, at most once each."""

from __future__ import annotations

from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.train.searches.base import Search, SearchSpace

with extra_imports("train"):
    import optuna


class GridSearch(Search):
    name = "grid"
    warm_start = False

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GridSampler({"config": list(range(len(space.grid)))}, seed=seed)

    def propose(self, trial: optuna.Trial, space: SearchSpace) -> tuple[str, dict[str, Any]]:
        name, params = space.grid[trial.suggest_int("config", 0, len(space.grid) - 1)]
        return name, dict(params)

    def trial_limit(self, max_trials: int | None, space: SearchSpace) -> int | None:
        return min(max_trials or len(space.grid), len(space.grid))


SEARCH = GridSearch()
