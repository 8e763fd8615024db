"""The connections role: credentials of data sources, stored sealed under the project's encryption key.

A stored connection is a name and an opaque ``sealed`` text (the source URL encrypted by
:mod:`conveyor.data.connections`); this role never sees a plaintext password.

Interface (:class:`ConnectionStore`; ``conveyor.testing.connection_store_contract`` checks every implementation):

* ``put(connection)`` adds or replaces the connection of that name and returns it;
* ``get(name)`` answers None for an unknown name; ``list()`` answers every connection by name;
* ``delete(name)`` answers whether there was one;
* every method is safe to call from several threads and processes sharing the store; records handed out are copies.
"""

from __future__ import annotations

import abc
import copy
import threading
from dataclasses import dataclass

__all__ = ["ConnectionStore", "InMemoryConnectionStore", "StoredConnection"]


@dataclass
class StoredConnection:
    name: str
    sealed: str  # the URL, encrypted (see conveyor.data.connections)
    display: str  # the URL with its password and secret query parameters masked, for listings
    created_at: float
    updated_at: float
    actor: str


class ConnectionStore(abc.ABC):
    """Stored connections; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def put(self, connection: StoredConnection) -> StoredConnection: ...

    @abc.abstractmethod
    def get(self, name: str) -> StoredConnection | None: ...

    @abc.abstractmethod
    def list(self) -> list[StoredConnection]:
        """By name."""

    @abc.abstractmethod
    def delete(self, name: str) -> bool: ...


class InMemoryConnectionStore(ConnectionStore):
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._connections: dict[str, StoredConnection] = {}

    def put(self, connection: StoredConnection) -> StoredConnection:
        with self._lock:
            kept = copy.copy(connection)
            before = self._connections.get(connection.name)
            if before is not None:
                kept.created_at = before.created_at
            self._connections[connection.name] = kept
            return copy.copy(kept)

    def get(self, name: str) -> StoredConnection | None:
        with self._lock:
            found = self._connections.get(name)
            return copy.copy(found) if found else None

    def list(self) -> list[StoredConnection]:
        with self._lock:
            return [copy.copy(c) for _, c in sorted(self._connections.items())]

    def delete(self, name: str) -> bool:
        with self._lock:
            return self._connections.pop(name, None) is not None
