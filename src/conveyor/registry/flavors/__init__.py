"""Model flavors: the registry (entry-point group ``conveyor.flavors``) and the look-ups everything else uses.

* :func:`flavor_of` (a model -> the flavor it is stored as), :func:`get_flavor` (a stored name -> its flavor),
  :func:`flavor_for_suffix` (a file suffix -> the flavor that reads it);
* :func:`native_predictor` and :func:`contributions` for one estimator (a model, or a pipeline's last step): the
  first flavor that can answer does.

Built-ins: ``lightgbm`` and ``xgboost`` (native boosters, no pickle) and ``sklearn`` (pickled, the catch-all).
Add one with a module holding a :class:`Flavor` instance and an entry point::

    [project.entry-points."conveyor.flavors"]
    catboost = "my_package.flavor:FLAVOR"
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.core.plugins import Registry
from conveyor.registry.flavors.base import SMALL_BATCH, BoosterFlavor, Flavor, NativePredictor, proba_columns


def _check(name: str, flavor: Flavor) -> None:
    if not isinstance(flavor, Flavor):
        raise BadInputError(f"The model flavor {name!r} is a {type(flavor).__name__}, not a Flavor instance.",
                            field="flavor", hint="Point the entry point at an instance of "
                                                 "conveyor.registry.flavors.Flavor (for example FLAVOR = MyFlavor()).")
    if flavor.name != name:
        raise BadInputError(f"The model flavor registered as {name!r} calls itself {flavor.name!r}.", field="flavor",
                            hint="Register it under its own name: models record that name.")


FLAVORS: Registry[Flavor] = Registry("model flavor", "conveyor.flavors", field="flavor", check=_check)
BUILT_IN = ("lightgbm", "xgboost", "sklearn")
for _name in BUILT_IN:
    FLAVORS.register_lazy(_name, f"conveyor.registry.flavors.{_name}:FLAVOR")


def get_flavor(name: str) -> Flavor:
    return FLAVORS.get(name)


def _scan() -> Iterator[Flavor]:
    """Every usable flavor, the catch-all ones last. A plug-in that fails to load is left out here (its error
    shows where it is named, e.g. loading a model of that flavor), so it never breaks the other flavors."""
    loaded = []
    for name in FLAVORS.names():
        try:
            loaded.append(FLAVORS.get(name))
        except ConveyorError:
            if name in BUILT_IN:
                raise
    yield from sorted(loaded, key=lambda flavor: flavor.fallback)


def flavor_of(model: Any) -> Flavor:
    """The flavor ``model`` is stored as."""
    for flavor in _scan():
        if flavor.owns(model):
            return flavor
    raise BadInputError(
        f"Cannot register a {type(model).__module__}.{type(model).__name__}: it is not a model conveyor knows.",
        field="model",
        hint="Log a fitted scikit-learn estimator or pipeline, a lightgbm.Booster or an xgboost.Booster "
             "(or install the plug-in of its library's flavor).",
    )


def flavor_for_suffix(suffix: str) -> Flavor | None:
    suffix = suffix.lower()
    return next((f for f in _scan() if suffix in f.suffixes), None)


def known_suffixes() -> tuple[list[str], list[str]]:
    """(suffixes read without running code, suffixes of pickled flavors), each sorted."""
    flavors = list(_scan())
    return (sorted({s for f in flavors if not f.pickled for s in f.suffixes}),
            sorted({s for f in flavors if f.pickled for s in f.suffixes}))


def native_predictor(estimator: Any) -> NativePredictor | None:
    """The fast predictor of a fitted estimator (the serving fast path), or None: use the model's own methods."""
    for flavor in _scan():
        found = flavor.native(estimator)
        if found is not None:
            return found
    return None


def contributions(estimator: Any, matrix: Any) -> np.ndarray | None:
    """Per-row contributions of a fitted estimator on its input matrix (see :class:`NativePredictor`), or None."""
    for flavor in _scan():
        found = flavor.contributions(estimator, matrix)
        if found is not None:
            return found
    return None


def parts(model: Any, depth: int = 6) -> Iterator[Any]:
    """``model`` and every estimator inside it (pipeline steps, wrapped estimators, ensemble members)."""
    yield model
    if depth == 0 or not hasattr(model, "get_params"):
        return
    stack: list[Any] = list(model.get_params(deep=False).values())
    while stack:
        value = stack.pop()
        if isinstance(value, (list, tuple)):
            stack.extend(value)
        elif hasattr(value, "get_params") and not isinstance(value, type):
            yield from parts(value, depth - 1)


def requires_for(model: Any) -> tuple[str, ...]:
    """The extras of conveyor-mlops a model needs to load and serve: its flavor's, and those of any native
    estimator inside it (a pickled pipeline ending in an XGBoost estimator needs the ``xgboost`` extra)."""
    extras = list(flavor_of(model).requires)
    for part in parts(model):
        for flavor in _scan():
            if not flavor.fallback and flavor.native(part) is not None:
                extras.extend(flavor.requires)
    return tuple(dict.fromkeys(extras))


__all__ = ["FLAVORS", "SMALL_BATCH", "BoosterFlavor", "Flavor", "NativePredictor", "contributions", "flavor_for_suffix",
           "flavor_of", "get_flavor", "known_suffixes", "native_predictor", "parts", "proba_columns", "requires_for"]
