"""The audit trail (newest first, a page of it) and whether its hash chain verifies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from conveyor.core.errors import ConveyorError
from conveyor.server.ui.pages import Pages

PAGE = 500


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/audit")
    @pages.page
    def audit(request: Request) -> Response:
        entries = project.models.audit()
        try:
            verified, problem = project.models.verify(), None
        except ConveyorError as exc:
            verified, problem = None, str(exc)
        return pages.render(request, "audit.html", title="Audit trail", entries=list(reversed(entries))[:PAGE],
                            total=len(entries), verified=verified, problem=problem)

    return api
