"""``GET /api/v1/server-info``: the server's conveyor version, API and schema, so a client can tell whether it
speaks this server's dialect (it warns when not)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from conveyor._version import __version__
from conveyor.server.auth import public
from conveyor.server.deps import ProjectDep
from conveyor.store.migrate import HEAD

router = APIRouter(tags=["health"])

API_VERSION = "v1"


@router.get("/server-info", dependencies=[public()])  # open, like /health: a client asks before it logs in
def server_info(project: ProjectDep) -> dict[str, Any]:
    """What this server runs: its conveyor version, the REST API version, the schema revision it needs."""
    return {"version": __version__, "api": API_VERSION, "schema": HEAD, "project": project.config.name}
