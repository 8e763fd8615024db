"""Helpers for conveyor's own test suite, and the checkers plug-in authors run on their own extensions:
``check_family`` (a model family) and ``check_flavor`` (a model flavor). The checkers are imported on first use,
so importing this package stays light."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_CHECKERS = {"check_family": "conveyor.testing.families", "check_flavor": "conveyor.testing.flavors"}

__all__ = sorted(_CHECKERS)


def __getattr__(name: str) -> Any:
    if name in _CHECKERS:
        return getattr(import_module(_CHECKERS[name]), name)
    raise AttributeError(f"module 'conveyor.testing' has no attribute {name!r}")
