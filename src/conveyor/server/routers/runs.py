"""``/api/v1/runs``: search (filters and ordering), show, metric history, compare, evaluation, artifacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.server.deps import ProjectDep
from conveyor.server.paging import MAX_LIMIT, Cursor, Limit, as_json, page

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("")
def search(project: ProjectDep, order_by: str | None = None, ascending: bool = False, dataset: str | None = None,
           cursor: Cursor = None, limit: Limit = 50, experiment: str | None = None) -> dict[str, Any]:
    """Runs, newest first (or best first by the metric ``order_by``), of ``dataset`` and ``experiment`` (a name or
    id) only when given."""
    return page(lambda n: project.runs.list(order_by_metric=order_by, ascending=ascending, dataset=dataset,
                                            limit=n, experiment=experiment), cursor, limit)


@router.get("/compare")
def compare(project: ProjectDep, ids: Annotated[list[str], Query()]) -> list[dict[str, Any]]:
    """Several runs, in the order given."""
    if not 1 <= len(ids) <= MAX_LIMIT:
        raise BadInputError(f"Compare takes 1 to {MAX_LIMIT} run ids, not {len(ids)}.", field="ids")
    return [as_json(r) for r in project.runs.compare(ids)]


@router.get("/resolve")
def resolve(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The run a run id (or prefix) or a model ``MODEL[@ALIAS|:N]`` names."""
    return as_json(project.runs.resolve(ref))


@router.get("/{run_id}")
def show(project: ProjectDep, run_id: str) -> dict[str, Any]:
    return as_json(project.runs.get(run_id))


@router.get("/{run_id}/metrics/{key}")
def metric_history(project: ProjectDep, run_id: str, key: str, cursor: Cursor = None, limit: Limit = MAX_LIMIT
                   ) -> dict[str, Any]:
    """Every logged value of one metric, oldest first."""
    return page(lambda n: project.runs.metric_history(run_id, key), cursor, limit)


@router.get("/{ref}/evaluation")
def evaluation(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The stored evaluation of a training run (``ref``: a run or a model)."""
    return project.runs.evaluation(ref)


@router.get("/{run_id}/artifacts/{name:path}")
def artifact(project: ProjectDep, run_id: str, name: str) -> Response:
    """One artifact's bytes."""
    run = project.runs.get(run_id)
    if name not in run.artifacts:
        raise NotFoundError.for_name("artifact", name, run.artifacts).with_field("name")
    return Response(project.stores.artifacts.get_bytes(run.artifacts[name]), media_type="application/octet-stream")
