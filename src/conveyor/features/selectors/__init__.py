"""Feature-selection methods: the registry (entry-point group ``conveyor.selectors``).

Built-ins (``train.feature_selection.method``): ``none``, ``variance``, ``mutual_info``, ``l1``, ``tree``, ``rfe``.
Add one with a module holding a :class:`Selector` instance and an entry point::

    [project.entry-points."conveyor.selectors"]
    boruta = "my_package.boruta:SELECTOR"
"""

from __future__ import annotations

from conveyor.core.errors import BadInputError
from conveyor.core.plugins import Registry
from conveyor.features.selectors.base import FeatureDecision, SelectionData, Selector

FIELD = "train.feature_selection.method"


def _check(name: str, selector: Selector) -> None:
    if not isinstance(selector, Selector) or selector.name != name:
        raise BadInputError(f"The feature selection method {name!r} is not a Selector instance named {name!r}.",
                            field=FIELD, hint="Point the entry point at an instance of "
                                              "conveyor.features.selectors.Selector.")


SELECTORS: Registry[Selector] = Registry("feature selection method", "conveyor.selectors", field=FIELD,
                                         check=_check)
BUILT_IN = ("none", "variance", "mutual_info", "l1", "tree", "rfe")
for _name in BUILT_IN:
    SELECTORS.register_lazy(_name, f"conveyor.features.selectors.{_name}:SELECTOR")

__all__ = ["BUILT_IN", "SELECTORS", "FeatureDecision", "SelectionData", "Selector"]
