"""``/api/v1/jobs``: long work (``train``, ``retrain``) started here and polled; the list reads every source of
the server's :class:`~conveyor.server.jobs.JobBoard`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from conveyor.core.errors import BadInputError
from conveyor.server.auth import requires
from conveyor.server.jobs import JobBoard
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, page

router = APIRouter(prefix="/jobs", tags=["jobs"])
Body = Annotated[dict[str, Any], Depends(json_body)]


def board(request: Request) -> JobBoard:
    return request.app.state.jobs


Board = Annotated[JobBoard, Depends(board)]


def _brief(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in ("log", "pid")}


@router.post("", status_code=202, dependencies=[requires("runs.write")])
def start(jobs: Board, body: Body) -> dict[str, Any]:
    """Start ``{"kind": "train" | "retrain" | "agent", "params": {...}}``; poll ``GET /api/v1/jobs/ID``."""
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise BadInputError("A job needs kind (train, retrain or agent).", field="kind")
    return _brief(jobs.runner.start(kind, body.get("params") or {}))


@router.get("", dependencies=[requires("read")])
def list_jobs(jobs: Board, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """Jobs, newest first."""
    return page(jobs.list, cursor, limit, _brief)


@router.get("/{job_id}", dependencies=[requires("read")])
def show(jobs: Board, job_id: str) -> dict[str, Any]:
    return _brief(jobs.get(job_id))


@router.get("/{job_id}/log", dependencies=[requires("read")])
def log(jobs: Board, job_id: str) -> dict[str, Any]:
    job = jobs.get(job_id)
    return {"id": job["id"], "status": job["status"], "log": job.get("log", [])}
