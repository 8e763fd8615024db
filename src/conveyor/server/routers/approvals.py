"""/api/v1 promotions into environments and their approvals: `conveyor models promote --to`, `requests`,
`approve`, `reject` over HTTP. Gates, order and approvals run here, under the server's conveyor.yaml."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from conveyor.core.entities import ApprovalRequest
from conveyor.core.errors import BadInputError
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, as_json, page

router = APIRouter(tags=["approvals"])
Body = Annotated[dict[str, Any], Depends(json_body)]


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise BadInputError(f"{key} must be a{' non-empty' if required else ''} string, not {value!r}.", field=key,
                            hint='e.g. {"environment": "staging", "reason": "beats prod on last week"}')
    return value


def requested_model(request: Request, project: Any) -> str | None:
    """The model an approval request (path parameter ``request_id``) is about, for per-model grants."""
    found = project.stores.approvals.get(request.path_params.get("request_id", ""))
    return found.model if found is not None else None


def promotion_answer(result: Any) -> dict[str, Any]:
    """The alias change, or ``{"status": "pending_approval", "request": ID, ...}`` where an approval is needed."""
    if isinstance(result, ApprovalRequest):
        return {**as_json(result), "status": "pending_approval", "request": result.id}
    return as_json(result)


@router.post("/models/{name}/versions/{version}/approvals", dependencies=[requires("models.promote", model="name")])
def promote_to(project: ProjectDep, name: str, version: int, body: Body) -> dict[str, Any]:
    """Promote ``name:version`` into ``{"environment": ENV}``: the alias change, or a pending approval request."""
    result = project.models.promote_to(f"{name}:{version}", _text(body, "environment", required=True),
                                       reason=_text(body, "reason"),
                                       override_gates=bool(body.get("override_gates", False)))
    return promotion_answer(result)


@router.get("/approvals", dependencies=[requires("read")])
def requests(project: ProjectDep, status: str | None = "pending", model: str | None = None, cursor: Cursor = None,
             limit: Limit = 50) -> dict[str, Any]:
    """Approval requests (pending by default; ``status=all`` for every one), oldest first."""
    wanted = None if status == "all" else status
    return page(lambda n: project.models.requests(status=wanted, model=model), cursor, limit)


@router.post("/approvals/{request_id}/approve", dependencies=[requires("models.approve", model=requested_model)])
def approve(project: ProjectDep, request_id: str, body: Body) -> dict[str, Any]:
    """Approve another user's request and carry out its promotion."""
    return as_json(project.models.approve(request_id, reason=_text(body, "reason")))


@router.post("/approvals/{request_id}/reject", dependencies=[requires("models.approve", model=requested_model)])
def reject(project: ProjectDep, request_id: str, body: Body) -> dict[str, Any]:
    """Reject a request: nothing moves."""
    return as_json(project.models.reject(request_id, reason=_text(body, "reason")))
