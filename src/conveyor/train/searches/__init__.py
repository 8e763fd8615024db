"""Searches over the model families: the registry (entry-point group ``conveyor.searches``).

Built-ins: ``bayesian`` (TPE), ``random`` and ``grid``. Add one with a module holding a :class:`Search` instance
and an entry point::

    [project.entry-points."conveyor.searches"]
    cmaes = "my_package.search:SEARCH"
"""

from __future__ import annotations

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.core.plugins import Registry
from conveyor.train.searches.base import Search, SearchSpace


def _check(name: str, search: Search) -> None:
    if not isinstance(search, Search) or search.name != name:
        raise BadInputError(f"The search {name!r} is not a Search instance named {name!r}.", field="train.search",
                            hint="Point the entry point at an instance of conveyor.train.searches.Search.")


SEARCHES: Registry[Search] = Registry("search", "conveyor.searches", field="train.search", check=_check)
SEARCHES.register_lazy("bayesian", "conveyor.train.searches.bayesian:SEARCH")
SEARCHES.register_lazy("random", "conveyor.train.searches.randomized:SEARCH")
SEARCHES.register_lazy("grid", "conveyor.train.searches.grid:SEARCH")


def get_search(name: str) -> Search:
    """The search called ``name``; an unknown name is bad input naming the known ones."""
    try:
        return SEARCHES.get(name)
    except NotFoundError as exc:
        raise BadInputError(exc.message, field="search", hint=exc.hint) from None


__all__ = ["SEARCHES", "Search", "SearchSpace", "get_search"]
