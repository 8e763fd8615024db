"""``/api/v1/connections``: data sources' credentials stored sealed on the server, and ingests that run a query
through one by name (the server uses its own stored connection; it never fetches a URL a user sends to ingest)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from conveyor.core.errors import BadInputError
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import as_json

router = APIRouter(tags=["connections"])
Body = Annotated[dict[str, Any], Depends(json_body)]

def _field(body: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        # never echo the value: it may be a URL with its password
        raise BadInputError(f"{key!r} must be a non-empty string.", field=key)
    return value


def _only(body: dict[str, Any], *keys: str) -> None:
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise BadInputError(f"Unknown field {unknown[0]!r}.", field=unknown[0], hint=f"Send {', '.join(keys)}.")


@router.get("/connections", dependencies=[requires("read")])
def list_connections(project: ProjectDep) -> list[dict[str, Any]]:
    """Stored connections, URLs masked."""
    return project.connections.list()


@router.post("/connections", status_code=201, dependencies=[requires("settings.write")])
def add_connection(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Store (or replace) ``{"name", "url"}``; the answer shows the URL masked."""
    _only(body, "name", "url")
    return project.connections.add(str(_field(body, "name")), str(_field(body, "url")))


@router.delete("/connections/{name}", status_code=204, dependencies=[requires("settings.write")])
def remove_connection(project: ProjectDep, name: str) -> Response:
    project.connections.remove(name)
    return Response(status_code=204)


@router.post("/connections/{name}/test", dependencies=[requires("settings.write")])
def test_connection(project: ProjectDep, name: str) -> dict[str, Any]:
    return project.connections.test(name)


@router.post("/connections/{name}/ingest", dependencies=[requires("data.write", dataset="body.name")])
def ingest_through(project: ProjectDep, name: str, body: Body) -> dict[str, Any]:
    """Run ``{"query", "name"}`` through the stored connection into a dataset version."""
    _only(body, "query", "name", "on_error", "pii", "against")
    version, created = project.connections.ingest(
        name, str(_field(body, "query")), str(_field(body, "name")), on_error=_field(body, "on_error",
                                                                                     required=False),
        pii=_field(body, "pii", required=False), against=_field(body, "against", required=False))
    return {"version": as_json(version), "created": created}


@router.post("/datasets/{name}/refresh", dependencies=[requires("data.write", dataset="name")])
def refresh_dataset(project: ProjectDep, name: str) -> dict[str, Any]:
    """Run the query of the dataset's newest version again through its stored connection."""
    version, created = project.connections.refresh(name)
    return {"version": as_json(version), "created": created}
