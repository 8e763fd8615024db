"""A project on a conveyor server: the same sub-APIs as a local :class:`~conveyor.project.Project`
(``data``, ``runs``, ``models``, ``monitoring``, ``training``), over ``/api/v1``."""

from __future__ import annotations

from typing import Any

from conveyor.client.connections import RemoteConnections
from conveyor.client.credentials import resolve_target
from conveyor.client.data import RemoteData
from conveyor.client.feedback import RemoteFeedback
from conveyor.client.http import Connection
from conveyor.client.models import RemoteModels
from conveyor.client.monitoring import RemoteMonitoring
from conveyor.client.runs import RemoteRuns
from conveyor.client.training import RemoteTraining
from conveyor.client.version import check_server
from conveyor.core.errors import BadInputError


class RemoteProject:
    """``connect(url)``: a server's project. ``stores`` are not reachable from here (clients hold no store
    credentials); every verb goes through the server."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.url = connection.url
        self.data = RemoteData(connection)
        self.runs = RemoteRuns(connection)
        self.models = RemoteModels(connection)
        self.monitoring = RemoteMonitoring(connection)
        self.training = RemoteTraining(connection)
        self.feedback = RemoteFeedback(connection)
        self.connections = RemoteConnections(connection)

    def whoami(self) -> dict[str, Any]:
        return self.connection.get("/whoami")

    def health(self) -> dict[str, Any]:
        return self.connection.get("/health")

    @property
    def stores(self) -> Any:
        raise BadInputError(f"This verb needs the project's stores, which a client of {self.url} does not open.",
                            field="server", hint="Run it on the server's host (unset CONVEYOR_SERVER there).")

    @property
    def root(self) -> Any:
        raise BadInputError(f"A project on {self.url} has no local folder.", field="server",
                            hint="Run this verb on the server's host.")

    def serving_app(self, ref: str, **options: Any) -> Any:
        """An ASGI app serving ``ref`` with the server's versions (it follows an alias); ``options`` as for a local
        project's (the server's serve: section is not applied: pass them)."""
        from conveyor.client.serving import remote_serving_app

        return remote_serving_app(self.models, ref, **options)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> RemoteProject:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RemoteProject at {self.url}>"


def connect(url: str | None = None, *, token: str | None = None, ca_bundle: str | None = None) -> RemoteProject:
    """The project of the server at ``url`` (default: CONVEYOR_SERVER, else `conveyor login`'s default), with
    ``token`` (default: CONVEYOR_TOKEN, else the stored token for that URL)."""
    target = resolve_target(url, token)
    if target is None:
        raise BadInputError("No server given.", field="server",
                            hint="Pass a URL, set CONVEYOR_SERVER, or run `conveyor login URL`.")
    connection = Connection(target.url, token=target.token, ca_bundle=ca_bundle)
    check_server(connection)  # a warning when the server runs a release this client does not support
    return RemoteProject(connection)
