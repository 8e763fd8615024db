"""``project.connections``: data sources' credentials stored sealed (`conveyor connections`), and ingests that
use them by name (`conveyor data ingest --connection NAME --query ...`, `conveyor data refresh NAME`); see
:mod:`conveyor.data.connections`."""

from __future__ import annotations

import builtins
import time
from pathlib import Path
from typing import Any, Protocol

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import BadInputError
from conveyor.data import connections as stored
from conveyor.data import datasets
from conveyor.data.sql import query_chunks
from conveyor.project._acting import acting_for
from conveyor.project._base import LocalAPI
from conveyor.project.data import LocalData
from conveyor.store.connections import StoredConnection


class ConnectionsAPI(Protocol):
    """Stored connections: add, list, remove, test, and the ingests that use them."""

    def add(self, name: str, url: str) -> dict[str, Any]: ...

    def list(self) -> builtins.list[dict[str, Any]]: ...

    def remove(self, name: str) -> None: ...

    def test(self, name: str) -> dict[str, Any]: ...

    def ingest(self, connection: str, query: str, name: str, *, on_error: str | None = None,
               pii: str | None = None, against: str | None = None, contract: str | Path | None = None
               ) -> tuple[DatasetVersion, bool]: ...

    def refresh(self, dataset: str) -> tuple[DatasetVersion, bool]: ...


def describe(connection: StoredConnection) -> dict[str, Any]:
    """What may be shown of a stored connection: never the sealed value, the URL only masked."""
    return {"name": connection.name, "url": connection.display, "created_at": connection.created_at,
            "updated_at": connection.updated_at, "actor": connection.actor}


class LocalConnections(LocalAPI):
    def add(self, name: str, url: str) -> dict[str, Any]:
        """Store (or replace) connection ``name`` (an admin's action once authentication is on; audited)."""
        actor = acting_for(self.stores, "settings.write")
        return describe(stored.add_connection(self.stores, name, url, actor=actor))

    def list(self) -> builtins.list[dict[str, Any]]:
        return [describe(c) for c in self.stores.connections.list()]

    def remove(self, name: str) -> None:
        stored.remove_connection(self.stores, name, actor=acting_for(self.stores, "settings.write"))

    def test(self, name: str) -> dict[str, Any]:
        """Connect and run ``SELECT 1``; the error (password removed) when that fails."""
        url = stored.connection_url(self.stores, name)
        started = time.perf_counter()

        def probe() -> None:
            with query_chunks(url, "SELECT 1") as _result:
                pass

        stored.redacting(url, probe)
        return {"name": name, "ok": True, "seconds": round(time.perf_counter() - started, 3)}

    def ingest(self, connection: str, query: str, name: str, *, on_error: str | None = None,
               pii: str | None = None, against: str | None = None, contract: str | Path | None = None
               ) -> tuple[DatasetVersion, bool]:
        """Run ``query`` over the stored connection into a version of ``name``; the version records
        ``connection:NAME: QUERY`` as its source, so `data refresh` can run it again."""
        options = LocalData(self._project)._ingest_options(name, query=query, on_error=on_error, pii=pii,
                                                     against=against, contract=contract)
        return stored.ingest_through(self.stores, connection, name, options)

    def refresh(self, dataset: str) -> tuple[DatasetVersion, bool]:
        """Run the query of ``dataset``'s newest version again through its stored connection (a new version when
        the result changed)."""
        newest = datasets.resolve(self.stores, f"{dataset}@latest")
        recorded = stored.recorded_query(newest.source)
        if recorded is None:
            raise BadInputError(f"{newest.ref} was not made through a stored connection (its source is "
                                f"{newest.source!r}).", field="dataset",
                                hint="Ingest it with `conveyor data ingest --connection NAME --query ...` first.")
        connection, query = recorded
        return self.ingest(connection, query, dataset)
