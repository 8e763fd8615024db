"""``GET /api/v1/health`` (ready: answers once the store is open) and ``GET /api/v1/whoami`` (the caller)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from conveyor._version import __version__
from conveyor.server.deps import ProjectDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(project: ProjectDep) -> dict[str, Any]:
    """Ready: the project's store answers a query."""
    project.stores.registry.names()
    return {"status": "ok", "version": __version__, "project": project.config.name}


@router.get("/whoami")
def whoami() -> dict[str, Any]:
    """The caller. Until authentication is configured every request is the local, unauthenticated actor."""
    from conveyor.registry.models import current_actor  # deferred: pandas

    return {"actor": f"local:{current_actor()}", "authenticated": False, "roles": []}
