"""The contract every :class:`~conveyor.store.connections.ConnectionStore` keeps, as a pytest suite.

Subclass it in a test module and provide a ``connection_store`` fixture that yields a fresh, empty store per test
(see ``conveyor.testing.dataset_store_contract`` for the pattern).
"""

from __future__ import annotations

from conveyor.store.connections import ConnectionStore, StoredConnection
from conveyor.testing.store_records import T0, hammer

__all__ = ["ConnectionStoreContract"]


def connection(name: str, sealed: str = "s1", at: float = T0) -> StoredConnection:
    return StoredConnection(name, sealed, f"postgresql://u:***@db/{name}", at, at, "ann")


class ConnectionStoreContract:
    """Subclass with a ``connection_store`` fixture; every ``test_*`` here must pass on every backend."""

    def test_connections_round_trip_and_list_by_name(self, connection_store: ConnectionStore) -> None:
        assert connection_store.get("warehouse") is None
        assert connection_store.list() == []
        stored = connection_store.put(connection("warehouse"))
        assert stored == connection("warehouse")
        connection_store.put(connection("crm"))
        assert [c.name for c in connection_store.list()] == ["crm", "warehouse"]
        assert connection_store.get("warehouse") == connection("warehouse")

    def test_put_replaces_and_keeps_the_creation_time(self, connection_store: ConnectionStore) -> None:
        connection_store.put(connection("warehouse"))
        replaced = connection_store.put(StoredConnection("warehouse", "s2", "other", T0 + 50, T0 + 50, "bob"))
        assert (replaced.sealed, replaced.display, replaced.created_at, replaced.updated_at, replaced.actor) == (
            "s2", "other", T0, T0 + 50, "bob")
        assert connection_store.get("warehouse") == replaced
        assert len(connection_store.list()) == 1

    def test_delete_answers_whether_there_was_one(self, connection_store: ConnectionStore) -> None:
        connection_store.put(connection("warehouse"))
        assert connection_store.delete("warehouse") is True
        assert connection_store.delete("warehouse") is False
        assert connection_store.get("warehouse") is None

    def test_concurrent_puts_of_one_name_leave_one_row(self, connection_store: ConnectionStore) -> None:
        hammer(3, 4, lambda: connection_store.put(connection("shared")))
        assert [c.name for c in connection_store.list()] == ["shared"]
