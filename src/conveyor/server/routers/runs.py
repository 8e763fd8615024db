"""``/api/v1/runs``: search (filters and ordering), show, metric history, compare, evaluation, artifacts; and the
writes of a client's tracked run (``project.runs.start()`` against a server): create, params, metrics in batches,
tags, artifacts, end. Writes go to the store as a local run's do (:class:`~conveyor.train.tracking.ActiveRun`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from conveyor.core.entities import Run, new_id
from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body, limits_of, read_body, require_type
from conveyor.server.paging import MAX_LIMIT, Cursor, Limit, as_json, page_at
from conveyor.server.uploads import Area

router = APIRouter(prefix="/runs", tags=["runs"])
Body = Annotated[dict[str, Any], Depends(json_body)]
MAX_METRICS = 1000  # metrics in one batch (MLflow's log-batch cap)
MAX_POINTS = 10_000  # the most values of one metric a chart series may ask for
END_STATUSES = ("finished", "failed")


@router.get("", dependencies=[requires("read")])
def search(project: ProjectDep, order_by: str | None = None, ascending: bool = False, dataset: str | None = None,
           cursor: Cursor = None, limit: Limit = 50, experiment: str | None = None) -> dict[str, Any]:
    """Runs, newest first (or best first by the metric ``order_by``), of ``dataset`` and ``experiment`` (a name or
    id) only when given; a page reads only its own rows from the store, however deep it is."""
    experiment_id = None if experiment is None else project.stores.runs.find_experiment(experiment).id
    return page_at(lambda start, n: project.stores.runs.search(order_by_metric=order_by, ascending=ascending,
                                                               dataset_name=dataset, limit=n, offset=start,
                                                               experiment=experiment_id),
                   cursor, limit)


@router.get("/compare", dependencies=[requires("read")])
def compare(project: ProjectDep, ids: Annotated[list[str], Query()]) -> list[dict[str, Any]]:
    """Several runs, in the order given."""
    if not 1 <= len(ids) <= MAX_LIMIT:
        raise BadInputError(f"Compare takes 1 to {MAX_LIMIT} run ids, not {len(ids)}.", field="ids")
    return [as_json(r) for r in project.runs.compare(ids)]


@router.get("/resolve", dependencies=[requires("read")])
def resolve(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The run a run id (or prefix) or a model ``MODEL[@ALIAS|:N]`` names."""
    return as_json(project.runs.resolve(ref))


@router.get("/{run_id}", dependencies=[requires("read")])
def show(project: ProjectDep, run_id: str) -> dict[str, Any]:
    return as_json(project.runs.get(run_id))


@router.get("/{run_id}/metrics/{key}", dependencies=[requires("read")])
def metric_history(project: ProjectDep, run_id: str, key: str, cursor: Cursor = None, limit: Limit = MAX_LIMIT,
                   points: Annotated[int | None, Query(ge=4, le=MAX_POINTS, description=(
                       "Instead of a page: at most this many values for a chart (the first, the last, and each "
                       "stretch's lowest and highest)."))] = None) -> dict[str, Any]:
    """Every logged value of one metric, oldest first, a page at a time (the database reads that page only); with
    ``points``, a bounded series of it in one answer."""
    run = project.stores.runs.resolve_id(run_id)
    if points is not None:
        return {"items": [as_json(m) for m in project.stores.runs.metric_series(run, key, points)], "next": None}
    return page_at(lambda offset, n: project.stores.runs.metric_history(run, key, offset=offset, limit=n), cursor,
                   limit)


@router.get("/{ref}/evaluation", dependencies=[requires("read")])
def evaluation(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The stored evaluation of a training run (``ref``: a run or a model)."""
    return project.runs.evaluation(ref)


@router.get("/{run_id}/artifacts/{name:path}", dependencies=[requires("read")])
def artifact(project: ProjectDep, run_id: str, name: str) -> Response:
    """One artifact's bytes."""
    run = project.runs.get(run_id)
    if name not in run.artifacts:
        raise NotFoundError.for_name("artifact", name, run.artifacts).with_field("name")
    return Response(project.stores.artifacts.get_bytes(run.artifacts[name]), media_type="application/octet-stream")


def _mapping(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float, bool)) or v is None
                                              for v in value.values()):
        raise BadInputError(f"{key} must be an object of names to plain values.", field=key)
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadInputError(f"{key} must be a string.", field=key)
    return value


def _tracked(project: Any, run_id: str) -> Any:
    from conveyor.train.tracking import ActiveRun  # deferred: the training stack is not needed to answer reads

    return ActiveRun(project.stores, project.runs.get(run_id))


@router.post("", status_code=201, dependencies=[requires("runs.write")])
def create(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Start a run ``{"name"?, "dataset"?, "tags"?}`` (``dataset``: ``NAME[@VERSION]``, recorded resolved); the
    client sends its own environment tags (git commit, packages), since the code runs there."""
    dataset = _optional_str(body, "dataset")
    if dataset is not None:
        found = project.data.get(dataset)
        dataset = f"{found.name}@{found.version}"
    name = _optional_str(body, "name")
    run = Run(id=new_id(), name="", dataset=dataset, tags={k: str(v) for k, v in _mapping(body, "tags").items()})
    run.name = name or f"run-{run.started_at:.0f}"
    return as_json(project.stores.runs.create(run))


@router.post("/{run_id}/params", dependencies=[requires("runs.write")])
def log_params(project: ProjectDep, run_id: str, body: Body) -> dict[str, Any]:
    """``{"params": {KEY: VALUE}}``: set parameters (later values replace earlier ones)."""
    _tracked(project, run_id).log_params(_mapping(body, "params"))
    return {"logged": len(body.get("params", {}))}


@router.post("/{run_id}/tags", dependencies=[requires("runs.write")])
def set_tags(project: ProjectDep, run_id: str, body: Body) -> dict[str, Any]:
    """``{"tags": {KEY: VALUE}}``."""
    _tracked(project, run_id).set_tags(_mapping(body, "tags"))
    return {"logged": len(body.get("tags", {}))}


@router.post("/{run_id}/metrics", dependencies=[requires("runs.write")])
def log_metrics(project: ProjectDep, run_id: str, body: Body) -> dict[str, Any]:
    """``{"metrics": [{"key", "value", "step"?}]}``: up to 1,000 values in one transaction (NaN and infinities
    refused, naming the key)."""
    metrics = body.get("metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise BadInputError(f"metrics must be a list of at most {MAX_METRICS} {{key, value, step}} objects.",
                            field="metrics", hint="Send larger histories in several batches.")
    triples = []
    for item in metrics:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) \
                or not isinstance(item.get("value"), (int, float)) or isinstance(item.get("value"), bool) \
                or not isinstance(item.get("step", 0), int) or isinstance(item.get("step", 0), bool):
            raise BadInputError(f"Metric {item!r} is not {{key: string, value: number, step: integer}}.",
                                field="metrics")
        triples.append((item["key"], item["value"], item.get("step", 0)))
    _tracked(project, run_id).log_batch(triples)
    return {"logged": len(triples)}


@router.put("/{run_id}/artifacts/{name:path}", dependencies=[requires("runs.write")])
async def put_artifact(request: Request, project: ProjectDep, run_id: str, name: str) -> dict[str, Any]:
    """An artifact's bytes as the body (``application/octet-stream``, up to ``--max-body``); larger ones go
    through ``/uploads`` and ``POST /runs/ID/artifacts/NAME {"upload": ID}``."""
    require_type(request, "application/octet-stream")
    run = _tracked(project, run_id)  # an unknown run is 404 before the body is read
    data = await read_body(request, limits_of(request).max_body)
    return {"name": name, "digest": run.log_artifact(name, data)}


@router.post("/{run_id}/artifacts/{name:path}", dependencies=[requires("runs.write")])
def artifact_from_upload(project: ProjectDep, uploads: Area, run_id: str, name: str, body: Body) -> dict[str, Any]:
    """``{"upload": ID}``: a complete upload becomes the artifact ``name``; the upload is deleted."""
    upload = _optional_str(body, "upload")
    if not upload:
        raise BadInputError("An artifact from an upload needs upload (its id).", field="upload")
    run = _tracked(project, run_id)
    digest = run.log_artifact(name, uploads.finished(upload).read_bytes())
    uploads.remove(upload)
    return {"name": name, "digest": digest}


@router.post("/{run_id}/end", dependencies=[requires("runs.write")])
def end(project: ProjectDep, run_id: str, body: Body) -> dict[str, Any]:
    """``{"status": "finished" | "failed", "error"?}``: end the run (a failed one keeps its error as a tag)."""
    status = body.get("status", "finished")
    if status not in END_STATUSES:
        raise BadInputError(f"status must be one of {', '.join(END_STATUSES)}, not {status!r}.", field="status")
    run = project.runs.get(run_id)
    project.stores.runs.end(run.id, status)
    error = _optional_str(body, "error")
    if status == "failed" and error:
        project.stores.runs.set_tags(run.id, {"error": error[:500]})
    return as_json(project.runs.get(run.id))
