"""Conveyor: the assembly line from data to a healthy production model.

The public Python API; everything the CLI can do starts from :class:`Project`.
Names resolve on first use (PEP 562), so ``conveyor --version`` starts without loading pandas or scikit-learn.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from conveyor._version import __version__

_EXPORTS = {
    "Project": "conveyor.project",
    "serving_app": "conveyor.project",
    "ConveyorError": "conveyor.core.errors",
    "BadInputError": "conveyor.core.errors",
    "NotFoundError": "conveyor.core.errors",
    "ConflictError": "conveyor.core.errors",
    "IntegrityError": "conveyor.core.errors",
    "CheckFailedError": "conveyor.core.errors",
    "MissingDependencyError": "conveyor.core.errors",
    "StoreError": "conveyor.core.errors",
}

__all__ = [
    "BadInputError",
    "CheckFailedError",
    "ConflictError",
    "ConveyorError",
    "IntegrityError",
    "MissingDependencyError",
    "NotFoundError",
    "Project",
    "StoreError",
    "__version__",
    "serving_app",
]

if TYPE_CHECKING:
    from conveyor.core.errors import (
        BadInputError,
        CheckFailedError,
        ConflictError,
        ConveyorError,
        IntegrityError,
        MissingDependencyError,
        NotFoundError,
        StoreError,
    )
    from conveyor.project import Project, serving_app


def __getattr__(name: str) -> object:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'conveyor' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = getattr(import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
