"""``GET /api/v1/health`` (ready: answers once the store is open; open to everyone) and ``GET /api/v1/whoami``
(the caller; a token once authentication is on)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from conveyor._version import __version__
from conveyor.server.auth import public, requires
from conveyor.server.deps import ProjectDep
from conveyor.store.identities import Identity

router = APIRouter(tags=["health"])


@router.get("/health", dependencies=[public()])
def health(project: ProjectDep) -> dict[str, Any]:
    """Ready: the project's store answers a query."""
    project.stores.registry.names()
    return {"status": "ok", "version": __version__, "project": project.config.name}


@router.get("/whoami")
def whoami(project: ProjectDep, identity: Identity | None = requires("tokens.own")) -> dict[str, Any]:
    """The caller: the token's identity with its role and grants (authentication on), else the local,
    unauthenticated actor."""
    if identity is None:
        from conveyor.registry.models import current_actor  # deferred: pandas

        return {"actor": f"local:{current_actor()}", "authenticated": False, "roles": []}
    grants = [{"kind": g.kind, "name": g.name, "role": g.role} for g in project.stores.identities.grants(identity.name)]
    return {"actor": identity.name, "authenticated": True, "kind": identity.kind, "role": identity.role,
            "roles": [identity.role], "grants": grants}
