"""MLflow's experiment edits: rename (update), delete and restore, and removing a tag.

A deleted experiment keeps its runs, name and id (``RunStore.update_experiment`` sets its lifecycle): MLflow clients
see it as ``deleted`` (searches skip it unless asked for deleted ones, new runs in it are refused, a restore brings it
back) and the audit trail records who deleted or restored it. The Default experiment ("0") is not deleted, as in
MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.core.actors import current_actor
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.endpoints import endpoint
from conveyor.server.mlflow.errors import invalid
from conveyor.server.mlflow.tracking import experiment

if TYPE_CHECKING:
    from conveyor.project import Project


@endpoint("/experiments/update", "POST", action="runs.write")
def update_experiment(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id"))
    new_name = c.text(fields, "new_name", required=False)
    if new_name:
        project.stores.runs.update_experiment(found.id, name=new_name)
    return {}


def _lifecycle(project: Project, fields: dict[str, Any], lifecycle: str) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id"))
    if found.id == "0" and lifecycle == "deleted":
        raise invalid("Cannot delete the default experiment '0'. This is an internally reserved experiment.")
    project.stores.runs.update_experiment(found.id, lifecycle=lifecycle)
    action = "experiment.delete" if lifecycle == "deleted" else "experiment.restore"
    project.stores.registry.append_audit(current_actor(), action, f"experiment:{found.id}",
                                         {"via": "mlflow", "name": found.name})
    return {}


@endpoint("/experiments/delete", "POST", action="runs.write")
def delete_experiment(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return _lifecycle(project, fields, "deleted")


@endpoint("/experiments/restore", "POST", action="runs.write")
def restore_experiment(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return _lifecycle(project, fields, "active")


@endpoint("/experiments/delete-experiment-tag", "POST", action="runs.write")
def delete_experiment_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    found = experiment(project, c.text(fields, "experiment_id"))
    key = c.text(fields, "key")
    if key.startswith(c.HIDDEN_TAG):
        raise invalid(f"Tag keys starting with {c.HIDDEN_TAG!r} are reserved for the server.")
    project.stores.runs.update_experiment(found.id, untag=(key,))
    return {}
