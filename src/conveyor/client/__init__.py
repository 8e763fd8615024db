"""Remote mode: the project's sub-APIs over a conveyor server's ``/api/v1``.

``connect(url)`` returns a :class:`RemoteProject` whose ``data``, ``runs``, ``models``, ``monitoring`` and
``training`` implement the same protocols as a local project's. The CLI uses it when ``CONVEYOR_SERVER`` is set
(or `conveyor login` stored a server). The names load on first use, so a local verb that only asks whether a
server is configured (:func:`resolve_target`) does not import the client's dependencies."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_NAMES = {"connect": "conveyor.client.project", "RemoteProject": "conveyor.client.project",
          "Connection": "conveyor.client.http", "resolve_target": "conveyor.client.credentials"}

__all__ = ["Connection", "RemoteProject", "connect", "resolve_target"]


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'conveyor.client' has no attribute {name!r}")
    return getattr(import_module(_NAMES[name]), name)
