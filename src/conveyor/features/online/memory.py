"""The in-memory online store: for tests and examples."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from conveyor.features.online.base import OnlineStore


class MemoryOnlineStore(OnlineStore):
    name = "memory"

    def __init__(self, url: str = "", *, namespace: str = "conveyor") -> None:
        self._views: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def write(self, view: str, items: Mapping[str, str]) -> None:
        with self._lock:
            self._views.setdefault(view, {}).update(items)

    def read(self, view: str, keys: Sequence[str]) -> list[str | None]:
        with self._lock:
            values = self._views.get(view, {})
            return [values.get(k) for k in keys]

    def clear(self, view: str) -> None:
        with self._lock:
            self._views.pop(view, None)
