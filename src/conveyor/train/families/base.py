"""What a model family is: a search space, an estimator builder, library defaults, the tasks it handles and the
packages it needs. One module per family under :mod:`conveyor.train.families`; third-party families register
through the entry-point group ``conveyor.families`` and are checked by :func:`conveyor.testing.check_family`.

Each family's defaults are its library's defaults: they are tried first (warm start), so a short budget still ends
with a strong model (plain defaults were often hard to beat here). A family knows whether its model needs scaled
inputs, which category encoding suits it, whether it stops early on a validation fold (then the flavor of its
estimators fits it), and how to weigh classes when the target is imbalanced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conveyor.core.dependencies import available, missing
from conveyor.core.errors import MissingDependencyError
from conveyor.registry.flavors import get_flavor

IMBALANCE_RATIO = 0.2  # minority share below which class weighting joins the search
EARLY_STOPPING_ROUNDS = 30
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class SearchContext:
    task: str
    n_classes: int = 0
    imbalanced: bool = False
    pos_weight: float = 1.0  # negatives per positive, for XGBoost's scale_pos_weight
    device: str = "cpu"  # cpu or cuda (conveyor.execution.devices), for the families that can use a GPU


class Family:
    """One model family. Subclasses set the class attributes and implement :meth:`suggest` and :meth:`build`.

    * ``name``: what ``train.families`` lists and runs record; ``prefix``: the prefix of its parameters in the
      search (``forest.max_depth``), the name unless set;
    * ``tasks``: the tasks it can learn; ``requires``: ``(module, extra)`` pairs of the packages it needs;
    * ``needs_scaling`` and ``encoding`` (``onehot`` | ``ordinal``): the preprocessing in front of it;
    * ``defaults``: its library defaults, tried first and fitted exactly so; ``recorded_defaults``: the same point
      as the search space can record it, where a default lies outside the space (LightGBM's ``reg_lambda=0`` below
      the log scale's floor of 1e-3): Optuna records that point, the fit uses ``defaults``; ``grid``: the
      configurations the grid search tries;
    * ``early_stopping`` with ``flavor``: stops early on each validation fold through that flavor;
      ``rounds_trial``: for such a family, what a second defaults trial changes so that early stopping chooses its
      rounds (``{"n_estimators": 1000}``): the library's 100 rounds are rarely the right number;
    * ``guard``: what a fit that diverged changes to bound its leaf values (LightGBM's hessian floor): a model whose
      refit diverged is fitted so before any other family's defaults replace it;
    * ``warm_start``: the rank of its defaults among the first trials; ``default``: searched when
      ``train.families`` is not set.

    ``build`` returns a fresh, unfitted scikit-learn estimator (``fit`` returns self; ``predict``, and
    ``predict_proba`` for classifiers).
    """

    name: str = ""
    prefix: str = ""
    tasks: tuple[str, ...] = TASKS
    requires: tuple[tuple[str, str], ...] = ()
    needs_scaling: bool = False
    encoding: str = "ordinal"
    defaults: dict[str, Any] = {}
    recorded_defaults: dict[str, Any] | None = None  # None: ``defaults`` lie inside the search space
    grid: list[dict[str, Any]] = []
    early_stopping: bool = False
    rounds_trial: dict[str, Any] | None = None
    guard: dict[str, Any] = {}
    flavor: str | None = None
    warm_start: int = 100
    default: bool = True

    @property
    def param_prefix(self) -> str:
        return self.prefix or self.name

    def suggest(self, trial: Any, ctx: SearchContext) -> dict[str, Any]:
        """Parameters for one trial, each drawn through ``trial`` (an ``optuna.Trial``) as ``{prefix}.{key}``."""
        raise NotImplementedError

    def build(self, ctx: SearchContext, params: dict[str, Any], seed: int) -> Any:
        raise NotImplementedError

    def fit_early_stopping(self, estimator: Any, X: Any, y: Any, X_valid: Any, y_valid: Any, rounds: int) -> int:
        """Fit with early stopping on the validation rows; the number of rounds that did best."""
        flavor = get_flavor(self.flavor) if self.early_stopping and self.flavor else None
        if flavor is None or not flavor.early_stopping:
            raise NotImplementedError(f"The {self.name} family has no early stopping.")
        return flavor.fit_early_stopping(estimator, X, y, X_valid, y_valid, rounds)

    def missing(self) -> MissingDependencyError | None:
        """The error naming the extra to install when a package it needs is missing, else None."""
        for module, extra in self.requires:
            if not available(module):
                return missing(module, extra, field="train.families")
        return None

    def __repr__(self) -> str:
        return f"<family {self.name}>"


def balanced(trial: Any, ctx: SearchContext, prefix: str) -> dict[str, Any]:
    """Class weighting joins the search when the classes are imbalanced."""
    if ctx.task != "classification" or not ctx.imbalanced:
        return {}
    return {"balanced": trial.suggest_categorical(f"{prefix}.balanced", [False, True])}


def class_weight(params: dict[str, Any]) -> str | None:
    return "balanced" if params.get("balanced") else None


def without_balanced(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "balanced"}
