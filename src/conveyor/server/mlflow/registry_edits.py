"""MLflow's registry edits on Conveyor's registry: tags and descriptions of registered models and model versions,
deletes, and renames.

Descriptions and tags live in the registry's notes (``RegistryStore.annotate``; version 0 is the registered model).
Conveyor never removes a model version: its artifact, lineage and audit rows stay, and deployments may name it. An
MLflow delete therefore marks the version (or the model and all its versions) deleted: MLflow clients no longer see
it, ``conveyor models`` still does, and the audit trail records who deleted what. A version an alias points at is
not deleted (MLflow would drop the alias silently; Conveyor's aliases move through promote and rollback), and a
model keeps its name: the audit trail, lineage and serving configurations name ``NAME:N``, so a rename is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.core.actors import current_actor
from conveyor.core.entities import AuditNote, ModelVersion
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.endpoints import endpoint
from conveyor.server.mlflow.errors import MlflowError
from conveyor.server.mlflow.registry import (
    _model_version,
    model_of,
    registered_model_out,
    version_note,
    version_out,
    visible,
)

if TYPE_CHECKING:
    from conveyor.project import Project

INVALID_STATE = "INVALID_STATE"


def _annotate_version(project: Project, version: ModelVersion, *, description: str | None = None,
                      tags: dict[str, str] | None = None, untag: tuple[str, ...] = ()) -> None:
    """Change a version's note; its first edit starts from what it was registered with."""
    notes = {n.version: n for n in project.stores.registry.notes(version.name)}
    if version.version not in notes:
        seed = version_note(version, notes)
        description = seed.description if description is None else description
        tags = {**seed.tags, **(tags or {})}
    project.stores.registry.annotate(version.name, version.version, description=description, tags=tags,
                                     untag=untag)


def _model_name(project: Project, fields: dict[str, Any]) -> str:
    name = c.text(fields, "name")
    model_of(project, name)
    return name


@endpoint("/registered-models/set-tag", "POST", action="models.register")
def set_registered_model_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = _model_name(project, fields)
    project.stores.registry.annotate(name, tags={c.text(fields, "key"): c.text(fields, "value", required=False)})
    return {}


@endpoint("/registered-models/delete-tag", "DELETE", action="models.register")
def delete_registered_model_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = _model_name(project, fields)
    project.stores.registry.annotate(name, untag=[c.text(fields, "key")])
    return {}


@endpoint("/registered-models/update", "PATCH", action="models.register")
def update_registered_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = _model_name(project, fields)
    if "description" in fields:
        project.stores.registry.annotate(name, description=c.text(fields, "description", required=False))
    versions, notes = visible(project, name)
    return {"registered_model": registered_model_out(project, name, versions, notes)}


@endpoint("/model-versions/set-tag", "POST", action="models.register")
def set_model_version_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    version = _model_version(project, fields)
    _annotate_version(project, version, tags={c.text(fields, "key"): c.text(fields, "value", required=False)})
    return {}


@endpoint("/model-versions/delete-tag", "DELETE", action="models.register")
def delete_model_version_tag(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    version = _model_version(project, fields)
    _annotate_version(project, version, untag=(c.text(fields, "key"),))
    return {}


@endpoint("/model-versions/update", "PATCH", action="models.register")
def update_model_version(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    version = _model_version(project, fields)
    if "description" in fields:
        _annotate_version(project, version, description=c.text(fields, "description", required=False))
    return {"model_version": version_out(project, version)}


def _refuse_aliased(project: Project, name: str, numbers: set[int], what: str) -> None:
    held = {alias: v for alias, v in project.stores.registry.aliases(name).items() if v in numbers}
    if held:
        names = ", ".join(f"{name}@{alias} (version {v})" for alias, v in sorted(held.items()))
        raise MlflowError(INVALID_STATE, f"Cannot delete {what}: {names} points at it. Move the alias first "
                          f"(`conveyor models promote` or `conveyor models rollback`), then delete.")


@endpoint("/model-versions/delete", "DELETE", action="models.register")
def delete_model_version(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Hidden from MLflow clients; Conveyor keeps the version (lineage, audit) and the audit trail records it."""
    version = _model_version(project, fields)
    _refuse_aliased(project, version.name, {version.version}, f"model version {version.ref}")
    project.stores.registry.annotate(version.name, version.version, deleted=True,
                                     audit=AuditNote(current_actor(), "version.delete", {"via": "mlflow"}))
    return {}


@endpoint("/registered-models/delete", "DELETE", action="models.register")
def delete_registered_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Every version hidden from MLflow clients, then the model; refused while an alias points at one of them."""
    name = c.text(fields, "name")
    versions, _notes = model_of(project, name)
    _refuse_aliased(project, name, {v.version for v in versions}, f"registered model {name}")
    registry = project.stores.registry
    for version in versions:
        registry.annotate(name, version.version, deleted=True)
    registry.annotate(name, deleted=True, audit=AuditNote(current_actor(), "model.delete", {
        "via": "mlflow", "versions": [v.version for v in versions]}))
    return {}


@endpoint("/registered-models/rename", "POST", action="models.register")
def rename_registered_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "name")
    new_name = c.text(fields, "new_name")
    model_of(project, name)
    raise MlflowError(INVALID_STATE, f"Conveyor does not rename models: the audit trail, lineage and serving "
                      f"configurations name {name}:N. Register the versions under {new_name!r} instead "
                      f"(mlflow.register_model(\"models:/{name}/N\", {new_name!r})).")
