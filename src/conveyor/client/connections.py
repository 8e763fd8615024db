"""``project.connections`` against a server: the connections are stored on the server and the server runs the
queries through them."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.client._base import RemoteAPI
from conveyor.client.data import version_from
from conveyor.core.entities import DatasetVersion


class RemoteConnections(RemoteAPI):
    """:class:`~conveyor.project.connections.ConnectionsAPI` over a server."""

    def add(self, name: str, url: str) -> dict[str, Any]:
        return self.connection.post("/connections", {"name": name, "url": url})

    def list(self) -> builtins.list[dict[str, Any]]:
        return self.connection.get("/connections")

    def remove(self, name: str) -> None:
        self.connection.request("DELETE", f"/connections/{quote(name, safe='')}")

    def test(self, name: str) -> dict[str, Any]:
        return self.connection.post(f"/connections/{quote(name, safe='')}/test")

    def ingest(self, connection: str, query: str, name: str, *, on_error: str | None = None,
               pii: str | None = None, against: str | None = None, contract: str | Path | None = None
               ) -> tuple[DatasetVersion, bool]:
        if contract is not None:
            self._local_only("--contract FILE", "Keep the contract on the server as contracts/NAME.yaml, or pass "
                                                "--against NAME@VERSION.")
        options = {k: v for k, v in (("on_error", on_error), ("pii", pii), ("against", against)) if v}
        done = self.connection.post(f"/connections/{quote(connection, safe='')}/ingest",
                                    {"query": query, "name": name, **options})
        return version_from(done["version"]), bool(done["created"])

    def refresh(self, dataset: str) -> tuple[DatasetVersion, bool]:
        done = self.connection.post(f"/datasets/{quote(dataset, safe='')}/refresh")
        return version_from(done["version"]), bool(done["created"])
