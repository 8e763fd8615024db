"""``/api/v1/pipelines``: the project's pipelines, their runs and a run's DAG (as `conveyor pipelines show --json`
prints it), and the webhook trigger: ``POST /api/v1/pipelines/{name}/webhook`` queues one run for the next
scheduler tick (`conveyor agent` or `conveyor pipelines schedule`), run once across agents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, page

router = APIRouter(prefix="/pipelines", tags=["pipelines"])
Body = Annotated[dict[str, Any], Depends(json_body)]


@router.get("", dependencies=[requires("read")])
def pipelines(project: ProjectDep) -> dict[str, Any]:
    """Every pipeline (the built-in retrain first) with its steps and triggers."""
    return {"items": [{"name": p.name, "steps": list(p.steps), "triggers": [t.to_dict() for t in p.triggers],
                       "where": p.where} for p in project.pipelines.list()]}


@router.get("/runs", dependencies=[requires("read")])
def runs(project: ProjectDep, pipeline: str | None = None, status: str | None = None, cursor: Cursor = None,
         limit: Limit = 50) -> dict[str, Any]:
    """Pipeline runs, newest first."""
    return page(lambda n: project.pipelines.runs(pipeline=pipeline, status=status, limit=n), cursor, limit)


@router.get("/runs/{run_id}", dependencies=[requires("read")])
def run(project: ProjectDep, run_id: str) -> dict[str, Any]:
    """A run's DAG: ``nodes`` (status, cached, duration, attempts, cache key, error) and ``edges``."""
    return project.pipelines.dag(run_id)


@router.post("/{name}/webhook", status_code=202, dependencies=[requires("runs.write")])
def webhook(project: ProjectDep, name: str, body: Body) -> dict[str, Any]:
    """Queue a run of ``name`` through its webhook trigger; the JSON body is the event's payload."""
    key = project.pipelines.queue_webhook(name, body)
    return {"pipeline": name, "queued": key, "status": "queued"}


