"""`conveyor serve` against a server: the served versions come from the server (the alias re-resolved there every
``reload_interval``, the package downloaded and checked against its hash), and the serving process keeps its
prediction log and feedback in memory (it holds no store credentials). Where the server has authentication on,
requests may carry the token of any identity of that server (checked at its /api/v1/whoami), beside the replica's
own serve token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.core.entities import ModelVersion
from conveyor.registry.loaded import LoadedModel

if TYPE_CHECKING:
    from fastapi import FastAPI

    from conveyor.client.models import RemoteModels


class RemoteSource:
    """A :class:`~conveyor.serve.holder.ModelSource` over a server's registry."""

    def __init__(self, models: RemoteModels) -> None:
        self.models = models

    def resolve(self, ref: str) -> ModelVersion:
        return self.models.get(ref)

    def load(self, version: ModelVersion) -> LoadedModel:
        return self.models.load(version)


def remote_serving_app(models: RemoteModels, ref: str, **options: Any) -> FastAPI:
    """An ASGI app serving ``ref`` from the server behind ``models``; ``options`` as for a local serve."""
    from conveyor.serve.app import create_app  # deferred: FastAPI and the scoring stack
    from conveyor.store import Stores

    options = {k: v for k, v in options.items() if v is not None}
    if models.connection.get("/whoami").get("authenticated"):  # authentication on there: its identities may call
        options.setdefault("platform_url", models.connection.url)
    return create_app(Stores.in_memory(), ref, source=RemoteSource(models), **options)
