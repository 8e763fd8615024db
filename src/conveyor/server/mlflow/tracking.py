"""MLflow tracking endpoints: experiments, runs, params, metrics, tags, metric history. Runs created here are
ordinary Conveyor runs (``runs list``, the UI) that keep their experiment as a run attribute."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from conveyor.core.actors import current_actor
from conveyor.core.entities import Experiment, Metric, Run, new_id
from conveyor.core.errors import NotFoundError
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.endpoints import endpoint
from conveyor.server.mlflow.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, invalid, missing
from conveyor.server.mlflow.search import decode_token, encode_token, search_runs

if TYPE_CHECKING:
    from conveyor.project import Project

DEFAULT_EXPERIMENT = "Default"
MAX_BATCH = 1000  # metrics + params + tags in one log-batch, as MLflow allows


def ensure_default(project: Project) -> None:
    runs = project.stores.runs
    if runs.experiment_by_name(DEFAULT_EXPERIMENT) is None:
        try:
            runs.create_experiment(DEFAULT_EXPERIMENT, artifact_location="mlflow-artifacts:/0", experiment_id="0")
        except Exception:
            if runs.experiment_by_name(DEFAULT_EXPERIMENT) is None:
                raise


def experiment(project: Project, experiment_id: str) -> Experiment:
    if experiment_id == "0":
        ensure_default(project)
    try:
        return project.stores.runs.get_experiment(experiment_id)
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None


def active_run(project: Project, fields: dict[str, Any]) -> Run:
    run_id = c.text(fields, "run_id", required=False) or c.text(fields, "run_uuid")
    try:
        run = project.stores.runs.get(run_id)
    except NotFoundError:
        raise missing(f"Run with id={run_id} not found") from None
    if run.id != run_id:  # MLflow names runs by full id only
        raise missing(f"Run with id={run_id} not found")
    return run


def run_id_of(project: Project, fields: dict[str, Any]) -> str:
    """The id of the run a write names, checked without loading the run (writes stay cheap)."""
    run_id = c.text(fields, "run_id", required=False) or c.text(fields, "run_uuid")
    try:
        found = project.stores.runs.resolve_id(run_id)
    except NotFoundError:
        raise missing(f"Run with id={run_id} not found") from None
    if found != run_id:
        raise missing(f"Run with id={run_id} not found")
    return run_id


@endpoint("/experiments/create", "POST", action="runs.write")
def create_experiment(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "name")
    ensure_default(project)
    runs = project.stores.runs
    if runs.experiment_by_name(name) is not None:
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Experiment(name={name}) already exists.")
    created = runs.create_experiment(name, tags=c.key_values(fields.get("tags"), "tags"))
    location = c.text(fields, "artifact_location", required=False) or f"mlflow-artifacts:/{created.id}"
    _set_location(project, created, location)
    return {"experiment_id": created.id}


def _set_location(project: Project, created: Experiment, location: str) -> None:
    # the location is known once the id is: keep it in the tags the store already persists
    project.stores.runs.set_experiment_tags(created.id, {"conveyor.artifact_location": location})


def _experiment_out(found: Experiment) -> dict[str, Any]:
    location = found.tags.pop("conveyor.artifact_location", None) or found.artifact_location
    return c.experiment_out(Experiment(found.id, found.name, location, found.lifecycle, found.created_at,
                                       found.tags))


@endpoint("/experiments/get", "GET", action="read")
def get_experiment(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": _experiment_out(experiment(project, c.text(fields, "experiment_id")))}


@endpoint("/experiments/get-by-name", "GET", action="read")
def get_experiment_by_name(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "experiment_name")
    ensure_default(project)
    found = project.stores.runs.experiment_by_name(name)
    if found is None:
        raise MlflowError(RESOURCE_DOES_NOT_EXIST, f"Could not find experiment with name '{name}'")
    return {"experiment": _experiment_out(found)}


_NAME_FILTER = re.compile(r"^\s*(?:attribute\.|attributes\.)?name\s*(=|LIKE|ILIKE)\s*'([^']*)'\s*$", re.IGNORECASE)


@endpoint("/experiments/search", "POST", action="read")
def search_experiments(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Every active experiment by id; a filter on the name (``name = 'x'``, ``name LIKE 'x%'``) is understood."""
    ensure_default(project)
    view = c.text(fields, "view_type", required=False, default="ACTIVE_ONLY").upper()
    wanted = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}.get(view)
    if wanted is None:
        raise invalid(f"Unknown view_type {view!r}; use ACTIVE_ONLY, DELETED_ONLY or ALL.")
    found = [e for e in project.stores.runs.experiments() if e.lifecycle in wanted]
    flt = c.text(fields, "filter", required=False)
    if flt:
        match = _NAME_FILTER.match(flt)
        if not match:
            raise invalid(f"Unsupported experiment filter {flt!r}: use name = '...' or name LIKE '...'.")
        op, value = match.group(1).upper(), match.group(2)
        if op == "=":
            found = [e for e in found if e.name == value]
        else:
            pattern = re.compile("^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$",
                                 re.IGNORECASE if op == "ILIKE" else 0)
            found = [e for e in found if pattern.match(e.name)]
    start = decode_token(fields.get("page_token"))
    size = c.integer(fields, "max_results", 1000)
    page = found[start : start + size]
    answer: dict[str, Any] = {"experiments": [_experiment_out(e) for e in page]}
    if start + size < len(found):
        answer["next_page_token"] = encode_token(start + size)
    return answer


@endpoint("/experiments/set-experiment-tag", "POST", action="runs.write")
def set_experiment_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id"))
    project.stores.runs.set_experiment_tags(found.id, {c.text(fields, "key"): c.text(fields, "value",
                                                                                     required=False)})
    return {}


@endpoint("/runs/create", "POST", action="runs.write")
def create_run(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id", required=False, default="0"))
    if found.lifecycle != "active":
        raise invalid(f"The experiment {found.id} must be in the 'active' state. Current state is "
                      f"{found.lifecycle}.")
    tags = c.key_values(fields.get("tags"), "tags")
    name = c.text(fields, "run_name", required=False) or tags.get(c.RUN_NAME_TAG) or f"mlflow-{new_id()[:8]}"
    tags = {k: v for k, v in tags.items() if not k.startswith(c.HIDDEN_TAG)}
    tags.update({c.RUN_NAME_TAG: name, c.ACTOR_TAG: current_actor()})  # user_id is the client's claim: not kept
    started = c.seconds(fields.get("start_time"))
    run = Run(id=new_id(), name=name, experiment=found.id, tags=tags)
    if started:
        run.started_at = started
    return {"run": c.run_out(project.stores.runs.create(run))}


@endpoint("/runs/get", "GET", action="read")
def get_run(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return {"run": c.run_out(active_run(project, fields))}


@endpoint("/runs/update", "POST", action="runs.write")
def update_run(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    run = active_run(project, fields)
    runs = project.stores.runs
    name = c.text(fields, "run_name", required=False)
    if name:
        runs.set_tags(run.id, {c.RUN_NAME_TAG: name})
    status = c.text(fields, "status", required=False)
    if status:
        if status not in c.STATUSES:
            raise invalid(f"Invalid run status {status!r}; use one of {', '.join(c.STATUSES)}.")
        if status not in ("RUNNING", "SCHEDULED"):  # a run starts running; only its end is recorded
            runs.end(run.id, status.lower(), ended_at=c.seconds(fields.get("end_time")))
    return {"run_info": c.run_info(runs.get(run.id))}


def _set_lifecycle(project: Project, fields: dict[str, Any], stage: str) -> dict[str, Any]:
    run = active_run(project, fields)
    project.stores.runs.set_tags(run.id, {c.DELETED_TAG: stage})
    project.stores.registry.append_audit(current_actor(), "run.delete" if stage == "deleted" else "run.restore",
                                         f"run:{run.id}", {"via": "mlflow", "name": run.name})
    return {}


@endpoint("/runs/delete", "POST", action="runs.write")
def delete_run(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Marks the run deleted for MLflow clients (Conveyor keeps every run: lineage and audit point at them)."""
    return _set_lifecycle(project, fields, "deleted")


@endpoint("/runs/restore", "POST", action="runs.write")
def restore_run(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return _set_lifecycle(project, fields, "active")


def _log_params(project: Project, run_id: str, params: dict[str, str]) -> None:
    if not params:
        return
    earlier = project.stores.runs.params_of(run_id)
    for key, value in params.items():
        if key in earlier and earlier[key] != value:
            raise invalid(f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                          f"value='{earlier[key]}' for run ID='{run_id}'. Attempted logging new value '{value}'.")
    project.stores.runs.log_params(run_id, params)


@endpoint("/runs/log-parameter", "POST", action="runs.write")
def log_param(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    _log_params(project, run_id_of(project, fields), {c.text(fields, "key"): c.text(fields, "value",
                                                                                   required=False)})
    return {}


@endpoint("/runs/log-metric", "POST", action="runs.write")
def log_metric(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    project.stores.runs.log_metrics(run_id_of(project, fields), [c.metric_in(fields)])
    return {}


@endpoint("/runs/set-tag", "POST", action="runs.write")
def set_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    run_id = run_id_of(project, fields)
    key = c.text(fields, "key")
    if key.startswith(c.HIDDEN_TAG):
        raise invalid(f"Tag keys starting with {c.HIDDEN_TAG!r} are reserved for the server.")
    project.stores.runs.set_tags(run_id, {key: c.text(fields, "value", required=False)})
    return {}


@endpoint("/runs/log-batch", "POST", action="runs.write")
def log_batch(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    run_id = run_id_of(project, fields)
    metrics = fields.get("metrics") or []
    if not isinstance(metrics, list):
        raise invalid("metrics must be a list.")
    params = c.key_values(fields.get("params"), "params")
    tags = c.key_values(fields.get("tags"), "tags")
    if len(metrics) + len(params) + len(tags) > MAX_BATCH:
        raise invalid(f"A batch holds at most {MAX_BATCH} metrics, params and tags together.")
    if any(k.startswith(c.HIDDEN_TAG) for k in tags):
        raise invalid(f"Tag keys starting with {c.HIDDEN_TAG!r} are reserved for the server.")
    _log_params(project, run_id, params)
    project.stores.runs.set_tags(run_id, tags)
    project.stores.runs.log_metrics(run_id, _new_metrics(project, run_id, metrics))
    return {}


def _new_metrics(project: Project, run_id: str, items: list[Any]) -> list[Metric]:
    """The metrics to append; MLflow 3 logs a run's metrics again with a ``model_id`` when it logs a model, and
    MLflow keeps one row per (key, step, timestamp, value): so do we for those."""
    metrics = [c.metric_in(m) for m in items]
    if not any(isinstance(m, dict) and m.get("model_id") for m in items):
        return metrics
    seen: dict[str, set[tuple[int, int | None, float]]] = {}
    fresh = []
    for m in metrics:
        if m.key not in seen:
            seen[m.key] = {(h.step, c.ms(h.timestamp), h.value)
                           for h in project.stores.runs.metric_history(run_id, m.key)}
        row = (m.step, c.ms(m.timestamp), m.value)
        if row not in seen[m.key]:
            seen[m.key].add(row)
            fresh.append(m)
    return fresh


@endpoint("/runs/log-inputs", "POST", action="runs.write")
def log_inputs(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Dataset inputs are accepted and not kept (Conveyor's lineage names its own dataset versions)."""
    run_id_of(project, fields)
    return {}


@endpoint("/metrics/get-history", "GET", action="read")
def metric_history(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    run = active_run(project, fields)
    start = decode_token(fields.get("page_token"))
    size = c.integer(fields, "max_results", 25000)
    if size < 1:
        raise c.invalid(f"Parameter 'max_results' must be at least 1, not {size}.")
    # one more than the page: whether another page follows, without reading the whole history for each page
    history = project.stores.runs.metric_history(run.id, c.text(fields, "metric_key"), offset=start, limit=size + 1)
    answer: dict[str, Any] = {"metrics": [c.metric_out(m) for m in history[:size]]}
    if len(history) > size:
        answer["next_page_token"] = encode_token(start + size)
    return answer


@endpoint("/runs/search", "POST", action="read")
def search(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    runs, token = search_runs(project, c.strings(fields, "experiment_ids"),
                              c.text(fields, "filter", required=False), c.strings(fields, "order_by"),
                              c.integer(fields, "max_results", 1000), fields.get("page_token"),
                              view=c.text(fields, "run_view_type", required=False, default="ACTIVE_ONLY"))
    answer: dict[str, Any] = {"runs": [c.run_out(r) for r in runs]}
    if token:
        answer["next_page_token"] = token
    return answer
