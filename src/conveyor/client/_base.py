"""What the remote sub-APIs share: the connection, and one refusal for what only runs beside the store."""

from __future__ import annotations

from typing import NoReturn

from conveyor.client.http import Connection
from conveyor.core.errors import BadInputError


class RemoteAPI:
    """Base of the sub-APIs that work through a conveyor server's /api/v1."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _local_only(self, what: str, hint: str = "Run it on the server's host, against its project folder."
                    ) -> NoReturn:
        raise BadInputError(f"{what} is not available against a server ({self.connection.url}).", field="server",
                            hint=hint)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.connection.url}>"
