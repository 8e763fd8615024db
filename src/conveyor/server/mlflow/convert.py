"""Conveyor records as MLflow's JSON (runs, experiments, metrics, model versions) and MLflow's request fields as
Python values. Times: MLflow speaks milliseconds, Conveyor stores seconds."""

from __future__ import annotations

import json
from typing import Any

from conveyor.core.entities import Experiment, Metric, ModelVersion, Run
from conveyor.server.mlflow.errors import invalid

HIDDEN_TAG = "conveyor."  # Conveyor's own bookkeeping tags, not shown to MLflow clients
DELETED_TAG = "conveyor.lifecycle"  # "deleted": an MLflow delete-run (Conveyor never deletes a run)
ACTOR_TAG = "conveyor.actor"  # who created the run, as the server authenticated them (never MLflow's user_id)
KIND_TAG = "conveyor.mlflow.kind"  # "logged_model": the run holds an MLflow 3 logged model
RUN_NAME_TAG = "mlflow.runName"
OUTPUTS_TAG = "conveyor.mlflow.outputs"  # the logged models a run produced (MLflow 3 runs/outputs)
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def seconds(value: Any) -> float | None:
    return None if value in (None, "") else int(value) / 1000


def text(fields: dict[str, Any], key: str, *, required: bool = True, default: str = "") -> str:
    value = fields.get(key)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{key}'.")
        return default
    if isinstance(value, list | dict):
        raise invalid(f"Parameter '{key}' must be a string, not {type(value).__name__}.")
    return str(value)


def integer(fields: dict[str, Any], key: str, default: int) -> int:
    value = fields.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"Parameter '{key}' must be an integer, not {value!r}.") from None


def strings(fields: dict[str, Any], key: str) -> list[str]:
    value = fields.get(key) or []
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def key_values(items: Any, what: str) -> dict[str, str]:
    """``[{"key": K, "value": V}, ...]`` as a dict (MLflow's params and tags)."""
    if items in (None, ""):
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise invalid(f"{what} must be a list of {{'key', 'value'}} objects.")
    return {str(i["key"]): "" if i.get("value") is None else str(i["value"]) for i in items}


def as_key_values(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in values.items()]


def metric_in(item: dict[str, Any]) -> Metric:
    try:
        value = float(item["value"])
        return Metric(str(item["key"]), value, int(item.get("step") or 0),
                      seconds(item.get("timestamp")) or 0.0)
    except (KeyError, TypeError, ValueError):
        raise invalid(f"A metric needs a key and a numeric value, not {item!r}.") from None


def metric_out(metric: Metric) -> dict[str, Any]:
    return {"key": metric.key, "value": metric.value, "timestamp": ms(metric.timestamp), "step": metric.step}


def run_status(run: Run) -> str:
    status = run.status.upper()
    return status if status in STATUSES else "FINISHED"


def run_artifact_uri(experiment_id: str, run_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def run_info(run: Run) -> dict[str, Any]:
    experiment = run.experiment or "0"
    return {"run_id": run.id, "run_uuid": run.id, "run_name": run.tags.get(RUN_NAME_TAG, run.name),
            "experiment_id": experiment, "user_id": run.tags.get(ACTOR_TAG, ""), "status": run_status(run),
            "start_time": ms(run.started_at), "end_time": ms(run.ended_at),
            "artifact_uri": run_artifact_uri(experiment, run.id),
            "lifecycle_stage": "deleted" if run.tags.get(DELETED_TAG) == "deleted" else "active"}


def run_out(run: Run) -> dict[str, Any]:
    tags = {k: v for k, v in run.tags.items() if not k.startswith(HIDDEN_TAG)}
    tags.setdefault(RUN_NAME_TAG, run.name)
    return {"info": run_info(run),
            "data": {"metrics": [{"key": k, "value": v, "timestamp": ms(run.started_at), "step": 0}
                                 for k, v in run.metrics.items()],
                     "params": as_key_values(run.params), "tags": as_key_values(tags)},
            "inputs": {}, "outputs": {"model_outputs": json.loads(run.tags.get(OUTPUTS_TAG, "[]"))}}


def experiment_out(experiment: Experiment) -> dict[str, Any]:
    return {"experiment_id": experiment.id, "name": experiment.name,
            "artifact_location": experiment.artifact_location, "lifecycle_stage": experiment.lifecycle,
            "creation_time": ms(experiment.created_at), "last_update_time": ms(experiment.created_at),
            "tags": as_key_values(experiment.tags)}


def model_version_out(version: ModelVersion, aliases: dict[str, int], stage: str = "None") -> dict[str, Any]:
    mlflow = version.meta.get("mlflow", {})
    return {"name": version.name, "version": str(version.version),
            "creation_timestamp": ms(version.created_at), "last_updated_timestamp": ms(version.created_at),
            "current_stage": stage, "description": mlflow.get("description", ""),
            "source": mlflow.get("source", ""), "run_id": version.run_id or "", "status": "READY",
            "run_link": "", "model_id": mlflow.get("model_id", ""),
            "aliases": sorted(a for a, v in aliases.items() if v == version.version),
            "tags": as_key_values(mlflow.get("tags", {}))}
