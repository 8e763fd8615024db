"""MLflow 3's logged models (``mlflow.<flavor>.log_model``): each one is held by a Conveyor run of its own (tag
``conveyor.mlflow.kind = logged_model``, its id is ``m-<run id>``) in the same experiment, whose params, tags and
artifacts are the model's; the source run's ``runs/outputs`` name it. MLflow's search-runs leaves these runs out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from conveyor.core.actors import current_actor
from conveyor.core.entities import Run, new_id
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.artifacts import MODEL_ID_PREFIX, load_run, run_of_model
from conveyor.server.mlflow.endpoints import endpoint
from conveyor.server.mlflow.errors import invalid, missing
from conveyor.server.mlflow.search import decode_token, encode_token
from conveyor.server.mlflow.tracking import active_run, experiment

if TYPE_CHECKING:
    from conveyor.project import Project

SOURCE_RUN_TAG = "conveyor.mlflow.source_run"
MODEL_TYPE_TAG = "conveyor.mlflow.model_type"
OUTPUTS_TAG = c.OUTPUTS_TAG
_STATUS_OUT = {"running": "LOGGED_MODEL_PENDING", "finished": "LOGGED_MODEL_READY",
               "failed": "LOGGED_MODEL_UPLOAD_FAILED"}
_STATUS_IN = {v: k for k, v in _STATUS_OUT.items()}


def model_id_of(run: Run) -> str:
    return MODEL_ID_PREFIX + run.id


def load_model_run(project: Project, model_id: str) -> Run:
    run = load_run(project, run_of_model(model_id))
    if run.tags.get(c.KIND_TAG) != "logged_model":
        raise missing(f"Logged model with ID '{model_id}' not found.")
    return run


def model_out(run: Run) -> dict[str, Any]:
    experiment_id = run.experiment or "0"
    tags = {k: v for k, v in run.tags.items() if not k.startswith(c.HIDDEN_TAG) and k != c.RUN_NAME_TAG}
    info = {"model_id": model_id_of(run), "experiment_id": experiment_id, "name": run.name,
            "creation_timestamp_ms": c.ms(run.started_at),
            "last_updated_timestamp_ms": c.ms(run.ended_at or run.started_at),
            "artifact_uri": f"mlflow-artifacts:/{experiment_id}/models/{model_id_of(run)}/artifacts",
            "status": _STATUS_OUT.get(run.status, "LOGGED_MODEL_READY"),
            "model_type": run.tags.get(MODEL_TYPE_TAG, ""), "source_run_id": run.tags.get(SOURCE_RUN_TAG, ""),
            "tags": c.as_key_values(tags), "registrations": []}
    return {"info": info, "data": {"params": c.as_key_values(run.params), "metrics": []}}


@endpoint("/logged-models", "POST", action="runs.write")
def create_logged_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id"))
    source = c.text(fields, "source_run_id", required=False)
    if source:
        active_run(project, {"run_id": source})
    tags = {k: v for k, v in c.key_values(fields.get("tags"), "tags").items() if not k.startswith(c.HIDDEN_TAG)}
    tags.update({c.KIND_TAG: "logged_model", SOURCE_RUN_TAG: source, c.ACTOR_TAG: current_actor(),
                 MODEL_TYPE_TAG: c.text(fields, "model_type", required=False)})
    name = c.text(fields, "name", required=False) or "model"
    run = project.stores.runs.create(Run(id=new_id(), name=name, experiment=found.id, tags=tags,
                                         params=c.key_values(fields.get("params"), "params")))
    return {"model": model_out(run)}


@endpoint("/logged-models/{model_id}", "GET", action="read")
def get_logged_model(project: Project, fields: dict[str, Any], model_id: str) -> dict[str, Any]:
    return {"model": model_out(load_model_run(project, model_id))}


@endpoint("/logged-models/{model_id}", "PATCH", action="runs.write")
def finalize_logged_model(project: Project, fields: dict[str, Any], model_id: str) -> dict[str, Any]:
    run = load_model_run(project, model_id)
    status = c.text(fields, "status")
    if status not in _STATUS_IN:
        raise invalid(f"Invalid logged model status {status!r}; use one of {', '.join(_STATUS_IN)}.")
    if _STATUS_IN[status] != "running":
        project.stores.runs.end(run.id, _STATUS_IN[status])
    return {"model": model_out(project.stores.runs.get(run.id))}


@endpoint("/logged-models/{model_id}/tags", "PATCH", action="runs.write")
def set_logged_model_tags(project: Project, fields: dict[str, Any], model_id: str) -> dict[str, Any]:
    run = load_model_run(project, model_id)
    tags = c.key_values(fields.get("tags"), "tags")
    if any(k.startswith(c.HIDDEN_TAG) for k in tags):
        raise invalid(f"Tag keys starting with {c.HIDDEN_TAG!r} are reserved for the server.")
    project.stores.runs.set_tags(run.id, tags)
    return {}


@endpoint("/logged-models/{model_id}/params", "POST", action="runs.write")
def log_logged_model_params(project: Project, fields: dict[str, Any], model_id: str) -> dict[str, Any]:
    run = load_model_run(project, model_id)
    project.stores.runs.log_params(run.id, c.key_values(fields.get("params"), "params"))
    return {}


@endpoint("/logged-models/search", "POST", action="read")
def search_logged_models(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """The logged models of the experiments, newest first (filters are not supported yet: refused)."""
    if c.text(fields, "filter", required=False):
        raise invalid("Filtering logged models is not supported by this server.")
    found: list[Run] = []
    for experiment_id in c.strings(fields, "experiment_ids"):
        found.extend(r for r in project.stores.runs.search(experiment=experiment_id)
                     if r.tags.get(c.KIND_TAG) == "logged_model")
    start = decode_token(fields.get("page_token"))
    size = c.integer(fields, "max_results", 100)
    answer: dict[str, Any] = {"models": [model_out(r) for r in found[start : start + size]]}
    if start + size < len(found):
        answer["next_page_token"] = encode_token(start + size)
    return answer


@endpoint("/runs/outputs", "POST", action="runs.write")
def log_outputs(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """The source run names the models it produced (``{"model_id", "step"}``)."""
    run = active_run(project, fields)
    models = fields.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, dict) and "model_id" in m for m in models):
        raise invalid("models must be a list of {'model_id', 'step'} objects.")
    for m in models:
        load_model_run(project, str(m["model_id"]))
    earlier = json.loads(run.tags.get(OUTPUTS_TAG, "[]"))
    outputs = earlier + [{"model_id": str(m["model_id"]), "step": int(m.get("step") or 0)} for m in models]
    project.stores.runs.set_tags(run.id, {OUTPUTS_TAG: json.dumps(outputs)})
    return {}
