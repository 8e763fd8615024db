"""The online store's abstract core, what is derived from it, and the registry of backends."""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
from orjson import loads

from conveyor.core.errors import BadInputError
from conveyor.core.plugins import Registry

BATCH = 5000


def encode_key(values: Sequence[Any]) -> str:
    """An entity's key as text: its values as ``str`` (numbers and text with the same digits meet; a whole float
    is written as the integer, so a key column read as float, as JSON or pandas may, meets its integer form),
    joined by the unit separator."""
    return "\x1f".join(str(_key_part(v)) for v in values)


def _key_part(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _is_null(value: Any) -> bool:
    try:
        return bool(value is None or value != value)  # NaN, NaT and pd.NA are not equal to themselves
    except TypeError:  # pd.NA raises on bool()
        return True


def encode_values(values: Mapping[str, Any]) -> str:
    return json.dumps({k: None if _is_null(v) else _plain(v) for k, v in values.items()}, default=str)


class OnlineStore(ABC):
    """Feature values by view and entity key.

    Invariants every backend keeps: ``read`` answers one item per key asked, in order, None for an absent key;
    ``write`` of a key that exists replaces its value; ``clear`` removes one view only; views do not see each
    other's keys. Methods may be called from several threads.
    """

    name: ClassVar[str] = ""

    @abstractmethod
    def write(self, view: str, items: Mapping[str, str]) -> None:
        """Store ``key -> JSON text`` for ``view``."""

    @abstractmethod
    def read(self, view: str, keys: Sequence[str]) -> list[str | None]:
        """The JSON text of each key (None where absent)."""

    @abstractmethod
    def clear(self, view: str) -> None:
        """Remove every key of ``view``."""

    def close(self) -> None:  # noqa: B027 - optional for backends with nothing to release
        """Release connections."""

    # derived
    def put(self, view: str, rows: Iterable[tuple[Sequence[Any], Mapping[str, Any]]]) -> int:
        """Store ``(key values, feature values)`` pairs, in batches; returns how many were written."""
        batch: dict[str, str] = {}
        written = 0
        for key, values in rows:
            batch[encode_key(key)] = encode_values(values)
            if len(batch) >= BATCH:
                self.write(view, batch)
                written, batch = written + len(batch), {}
        if batch:
            self.write(view, batch)
            written += len(batch)
        return written

    def replace(self, view: str, rows: Iterable[tuple[Sequence[Any], Mapping[str, Any]]]) -> int:
        """The view's keys become exactly ``rows`` (entities no longer found are removed)."""
        self.clear(view)
        return self.put(view, rows)

    def get(self, view: str, keys: Sequence[Sequence[Any]]) -> list[dict[str, Any] | None]:
        """The feature values of each entity (None where the store has none)."""
        found = self.read(view, [encode_key(k) for k in keys])
        return [loads(text) if text is not None else None for text in found]  # orjson: half of a lookup's CPU

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check(name: str, value: object) -> None:
    if not (isinstance(value, type) and issubclass(value, OnlineStore)):
        raise BadInputError(f"The online store {name!r} must be an OnlineStore subclass, got {value!r}.",
                            field="features.online_store", hint="Fix the plug-in that registers it.")


ONLINE_STORES: Registry[type[OnlineStore]] = Registry("online store", "conveyor.online_stores",
                                                      field="features.online_store", check=_check)
ONLINE_STORES.register_lazy("sqlite", "conveyor.features.online.sqlite:SqliteOnlineStore")
ONLINE_STORES.register_lazy("redis", "conveyor.features.online.redis:RedisOnlineStore")
ONLINE_STORES.register_lazy("memory", "conveyor.features.online.memory:MemoryOnlineStore")


def open_online_store(kind: str, url: str, *, namespace: str = "conveyor") -> OnlineStore:
    """The backend ``kind`` at ``url`` (a file path for sqlite, ``redis://HOST:PORT/DB`` for redis);
    ``namespace`` keeps projects apart on a shared server."""
    factory: Any = ONLINE_STORES.get(kind)
    store: OnlineStore = factory(url, namespace=namespace)
    return store
