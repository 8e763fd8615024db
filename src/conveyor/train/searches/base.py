"""What a search is: an Optuna sampler, how one trial proposes a family and its parameters, whether the families'
library defaults are tried first, and how many trials the budget allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conveyor.core.dependencies import extra_imports
from conveyor.train.families import Family, SearchContext

with extra_imports("train"):
    import optuna


@dataclass(frozen=True)
class SearchSpace:
    """The families one search draws from, in order, and what their spaces depend on."""

    families: list[Family]
    ctx: SearchContext
    grid: list[tuple[str, dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grid", [(f.name, p) for f in self.families for p in f.grid])

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.families]

    def family(self, name: str) -> Family:
        return next(f for f in self.families if f.name == name)


class Search:
    """One search strategy. ``sampler`` and, where the strategy is not "pick a family, then its parameters",
    ``propose`` are what a new one implements."""

    name: str = ""
    warm_start: bool = True  # enqueue each family's library defaults as the first trials

    def sampler(self, space: SearchSpace, seed: int) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    def propose(self, trial: optuna.Trial, space: SearchSpace) -> tuple[str, dict[str, Any]]:
        """(family name, parameters) for one trial, every choice drawn through ``trial``."""
        name = trial.suggest_categorical("family", space.names)
        return name, space.family(name).suggest(trial, space.ctx)

    def trial_limit(self, max_trials: int | None, space: SearchSpace) -> int | None:
        """How many trials to ask at most (None: until the time budget is spent)."""
        return max_trials

    def __repr__(self) -> str:
        return f"<search {self.name}>"
