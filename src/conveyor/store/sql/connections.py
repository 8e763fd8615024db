"""Stored connections on SQL: table ``connections`` (one row per name, the URL sealed)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.store import schema as t
from conveyor.store.connections import ConnectionStore, StoredConnection
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlConnectionStore"]


def _connection(r: Any) -> StoredConnection:
    return StoredConnection(r.name, r.sealed, r.display, r.created_at, r.updated_at, r.actor)


class SqlConnectionStore(ConnectionStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def put(self, connection: StoredConnection) -> StoredConnection:
        c = t.connections.c
        row = {"name": connection.name, "sealed": connection.sealed, "display": connection.display,
               "created_at": connection.created_at, "updated_at": connection.updated_at, "actor": connection.actor}
        insert = self.db.insert(t.connections).values(row)
        changed = {k: insert.excluded[k] for k in ("sealed", "display", "updated_at", "actor")}  # created_at stays
        with self.db.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["name"], set_=changed))
            stored = conn.execute(sa.select(t.connections).where(c.name == connection.name)).one()
        return _connection(stored)

    def get(self, name: str) -> StoredConnection | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.connections).where(t.connections.c.name == name)).first()
        return None if row is None else _connection(row)

    def list(self) -> list[StoredConnection]:
        with self.db.engine.connect() as conn:
            return [_connection(r) for r in conn.execute(sa.select(t.connections).order_by(t.connections.c.name))]

    def delete(self, name: str) -> bool:
        with self.db.engine.begin() as conn:
            gone = conn.execute(t.connections.delete().where(t.connections.c.name == name)
                                .returning(t.connections.c.name)).first()
        return gone is not None
