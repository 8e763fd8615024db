"""Model families: the registry (entry-point group ``conveyor.families``) and the choice of families for one search.

Built-ins, in the order the search lists them: ``linear``, ``random_forest``, ``extra_trees``,
``hist_gradient_boosting``, ``lightgbm``, ``xgboost`` (extra ``xgboost``). Add one with a module holding a
:class:`Family` instance and an entry point::

    [project.entry-points."conveyor.families"]
    catboost = "my_package.family:FAMILY"
"""

from __future__ import annotations

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.plugins import Registry
from conveyor.train.families.base import (
    EARLY_STOPPING_ROUNDS,
    IMBALANCE_RATIO,
    TASKS,
    Family,
    SearchContext,
)


def _check(name: str, family: Family) -> None:
    if not isinstance(family, Family):
        raise BadInputError(f"The model family {name!r} is a {type(family).__name__}, not a Family instance.",
                            field="train.families", hint="Point the entry point at an instance of "
                            "conveyor.train.families.Family (for example FAMILY = MyFamily()).")
    if family.name != name:
        raise BadInputError(f"The model family registered as {name!r} calls itself {family.name!r}.",
                            field="train.families", hint="Register it under its own name: runs record that name.")


FAMILIES: Registry[Family] = Registry("model family", "conveyor.families", field="train.families", check=_check)
BUILT_IN = ("linear", "random_forest", "extra_trees", "hist_gradient_boosting", "lightgbm", "xgboost")
for _name in BUILT_IN:
    FAMILIES.register_lazy(_name, f"conveyor.train.families.{_name}:FAMILY")


def check_family_names(names: list[str]) -> None:
    """Refuse unknown names (with "did you mean") before any data is read."""
    for name in names:
        try:
            FAMILIES.check_name(name)
        except NotFoundError as exc:
            raise BadInputError(exc.message, field="families", hint=exc.hint) from None


def choose_families(names: list[str] | None, task: str) -> tuple[list[Family], dict[str, str]]:
    """The families to search, and those left out with the reason (recorded with the run).

    ``names`` given (``train.families``): exactly those, and a missing package or an unsupported task is an error
    naming the fix. ``None``: every default family; one whose package is missing, or that cannot learn ``task``,
    is skipped with a note instead."""
    explicit = names is not None
    chosen: list[Family] = []
    skipped: dict[str, str] = {}
    for name in names if names is not None else FAMILIES.names():
        family = FAMILIES.get(name)
        if not explicit and not family.default:
            continue
        problem = family.missing()
        if problem is not None:
            if explicit:
                raise problem
            skipped[name] = str(problem)
            continue
        if task not in family.tasks:
            if explicit:
                raise BadInputError(f"The model family {name!r} cannot learn a {task} task (it supports "
                                    f"{', '.join(family.tasks)}).", field="train.families",
                                    hint="Leave it out of train.families, or set train.task.")
            skipped[name] = f"does not support {task}"
            continue
        chosen.append(family)
    if not chosen:
        raise BadInputError(f"No model family can train this {task} task: "
                            + "; ".join(f"{n}: {why}" for n, why in skipped.items()), field="train.families",
                            hint="Install the extra named above, or list families that are installed.")
    return chosen, skipped


BOOSTING_FIRST_ROWS = 1_000  # from this many rows (or with more than two classes) boosting's defaults go first


def warm_start_order(families: list[Family], ctx: SearchContext | None = None, rows: int = 0) -> list[Family]:
    """The families whose library defaults are tried first, in the order they are tried: by ``warm_start``, except
    that on more than ``BOOSTING_FIRST_ROWS`` rows or more than two classes the boosting families (those that stop
    early) go first. There they usually win, and a short budget spent on the other defaults (imports and the linear
    model's fits under load) left them no time."""
    boosting_first = rows > BOOSTING_FIRST_ROWS or (ctx is not None and ctx.n_classes > 2)
    return sorted(families, key=lambda family: (boosting_first and not family.early_stopping, family.warm_start))


__all__ = ["BOOSTING_FIRST_ROWS", "BUILT_IN", "EARLY_STOPPING_ROUNDS", "FAMILIES", "IMBALANCE_RATIO", "TASKS",
           "Family", "SearchContext", "check_family_names", "choose_families", "warm_start_order"]
