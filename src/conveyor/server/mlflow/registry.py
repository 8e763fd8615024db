"""MLflow's model registry on Conveyor's: registered models, model versions, aliases and stage transitions.

A version registered through MLflow is an ordinary Conveyor model version: its run is the MLflow run that logged it,
its artifact the pickled scikit-learn model of the MLflow model folder (stored untrusted, never unpickled here:
``conveyor models trust M:N`` makes it servable by ``conveyor serve``), and ``meta["mlflow"]`` keeps the MLflow
source so the client downloads the very folder it uploaded. Setting an alias, and a stage transition (Production is
``champion``, Staging ``challenger``), go through ``project.models.promote`` (gates, protected aliases and their
approvals, the audit trail); where an approval is needed the answer is MLflow's INVALID_STATE naming the request."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import yaml

from conveyor.core.actors import current_actor
from conveyor.core.entities import ApprovalRequest, AuditNote, ModelNote, ModelVersion, Run
from conveyor.core.errors import NotFoundError
from conveyor.core.refs import check_name
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.artifacts import load_run, locate, run_of_model
from conveyor.server.mlflow.endpoints import endpoint
from conveyor.server.mlflow.errors import MlflowError, invalid, missing
from conveyor.server.mlflow.logged_models import SOURCE_RUN_TAG

if TYPE_CHECKING:
    from conveyor.project import Project

STAGE_ALIASES = {"Production": "champion", "Staging": "challenger"}
PICKLE_FORMATS = ("pickle", "cloudpickle")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: an MLmodel in a millisecond


def _versions(project: Project, name: str) -> list[ModelVersion]:
    """The versions of ``name`` MLflow clients see (not those a client deleted)."""
    return visible(project, name)[0]


def visible(project: Project, name: str) -> tuple[list[ModelVersion], dict[int, ModelNote]]:
    """The versions of ``name`` that no MLflow client deleted, and the notes on the model (0) and its versions."""
    notes = {n.version: n for n in project.stores.registry.notes(name)}
    versions = [v for v in project.stores.registry.versions(name)
                if not (v.version in notes and notes[v.version].deleted)]
    return versions, notes


def model_exists(versions: list[ModelVersion], notes: dict[int, ModelNote]) -> bool:
    """A registered model is there for MLflow clients while it has a version they see, or was created (and not
    deleted) through MLflow without one."""
    return bool(versions) or (0 in notes and not notes[0].deleted)


def version_note(version: ModelVersion, notes: dict[int, ModelNote]) -> ModelNote:
    """The version's note; before its first edit, the description and tags it was registered with."""
    if version.version in notes:
        return notes[version.version]
    mlflow = version.meta.get("mlflow", {})
    return ModelNote(version.name, version.version, mlflow.get("description") or "", dict(mlflow.get("tags") or {}))


def _stage(aliases: dict[str, int], version: int) -> str:
    return next((stage for stage, alias in STAGE_ALIASES.items() if aliases.get(alias) == version), "None")


def version_out(project: Project, version: ModelVersion, aliases: dict[str, int] | None = None,
                notes: dict[int, ModelNote] | None = None) -> dict[str, Any]:
    aliases = project.stores.registry.aliases(version.name) if aliases is None else aliases
    notes = {n.version: n for n in project.stores.registry.notes(version.name)} if notes is None else notes
    out = c.model_version_out(version, aliases, _stage(aliases, version.version))
    note = version_note(version, notes)
    out.update(description=note.description, tags=c.as_key_values(note.tags))
    if version.version in notes:
        out["last_updated_timestamp"] = c.ms(max(note.updated_at, version.created_at))
    return out


def registered_model_out(project: Project, name: str, versions: list[ModelVersion],
                         notes: dict[int, ModelNote] | None = None) -> dict[str, Any]:
    notes = {n.version: n for n in project.stores.registry.notes(name)} if notes is None else notes
    aliases = project.stores.registry.aliases(name) if versions else {}
    latest = [version_out(project, versions[-1], aliases, notes)] if versions else []
    note = notes.get(0) or ModelNote(name, 0)
    times = [v.created_at for v in versions] + ([note.updated_at] if 0 in notes else [])
    return {"name": name, "creation_timestamp": c.ms(min(times, default=None)),
            "last_updated_timestamp": c.ms(max(times, default=None)), "description": note.description,
            "latest_versions": latest, "tags": c.as_key_values(note.tags),
            "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(aliases.items())]}


def _model_version(project: Project, fields: dict[str, Any]) -> ModelVersion:
    """The version a request names, unless an MLflow client deleted it."""
    name = c.text(fields, "name")
    version = c.text(fields, "version")
    if not version.isdigit():
        raise invalid(f"Model version must be an integer, not {version!r}.")
    try:
        found = project.stores.registry.get_version(name, int(version))
    except NotFoundError:
        found = None
    if found is None or any(n.version == found.version and n.deleted for n in project.stores.registry.notes(name)):
        raise missing(f"Model Version (name={name}, version={version}) not found")
    return found


def model_of(project: Project, name: str) -> tuple[list[ModelVersion], dict[int, ModelNote]]:
    """The visible versions and notes of a registered model a request names; RESOURCE_DOES_NOT_EXIST without."""
    versions, notes = visible(project, name)
    if not model_exists(versions, notes):
        raise missing(f"Registered Model with name={name} not found")
    return versions, notes


@endpoint("/registered-models/create", "POST", action="models.register")
def create_registered_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """A name for versions to come (Conveyor knows a model by its versions: an empty one is not listed)."""
    name = c.text(fields, "name")
    check_name(name, "model name")
    versions, notes = visible(project, name)
    if model_exists(versions, notes):
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists.")
    tags = c.key_values(fields.get("tags"), "tags")
    project.stores.registry.annotate(name, description=c.text(fields, "description", required=False), tags=tags,
                                     untag=[k for k in (notes[0].tags if 0 in notes else {}) if k not in tags],
                                     deleted=False)
    return {"registered_model": registered_model_out(project, name, versions)}


@endpoint("/registered-models/get", "GET", action="read")
def get_registered_model(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "name")
    versions, notes = model_of(project, name)
    return {"registered_model": registered_model_out(project, name, versions, notes)}


def _name_filter(text: str) -> Any:
    """``name = 'x'`` / ``name LIKE 'x%'`` / ``name ILIKE ...`` as a predicate on names (no filter: all)."""
    if not text:
        return lambda name: True
    match = re.match(r"^\s*name\s*(=|LIKE|ILIKE)\s*'([^']*)'\s*$", text, re.IGNORECASE)
    if not match:
        raise invalid(f"Unsupported filter {text!r}: use name = '...' or name LIKE '...'.")
    op, value = match.group(1).upper(), match.group(2)
    if op == "=":
        return lambda name: name == value
    pattern = re.compile("^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$",
                         re.IGNORECASE if op == "ILIKE" else 0)
    return lambda name: pattern.match(name) is not None


@endpoint("/registered-models/search", "GET", action="read")
def search_registered_models(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    keep = _name_filter(c.text(fields, "filter", required=False))
    size = c.integer(fields, "max_results", 100)
    registry = project.stores.registry
    found = []
    for name in sorted(set(registry.names()) | {n.name for n in registry.notes() if n.version == 0}):
        if len(found) >= size:
            break
        if keep(name):
            versions, notes = visible(project, name)
            if model_exists(versions, notes):
                found.append(registered_model_out(project, name, versions, notes))
    return {"registered_models": found}


@endpoint("/registered-models/get-latest-versions", "POST", action="read")
def get_latest_versions(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "name")
    versions, notes = model_of(project, name)
    aliases = project.stores.registry.aliases(name)
    stages = c.strings(fields, "stages")
    latest: dict[str, ModelVersion] = {}
    for v in versions:
        latest[_stage(aliases, v.version)] = v
    return {"model_versions": [version_out(project, v, aliases, notes) for s, v in latest.items()
                               if not stages or s in stages]}


def _source_location(project: Project, source: str, model_id: str) -> tuple[Run, str]:
    """The Conveyor run holding a version's MLflow model folder, and the folder's name among its artifacts."""
    if model_id:
        return load_run(project, run_of_model(model_id)), ""
    if source.startswith("models:/m-"):
        return load_run(project, run_of_model(source[len("models:/"):].strip("/"))), ""
    registered = re.fullmatch(r"models:/([^/@]+)/(\d+)/?", source)
    if registered:  # another registered version: the folder it was registered from
        version = _model_version(project, {"name": registered.group(1), "version": registered.group(2)})
        mlflow = version.meta.get("mlflow", {})
        if not mlflow.get("download_uri"):
            raise invalid(f"Model {version.ref} was not logged through MLflow: register its run's model instead.")
        return _source_location(project, mlflow["download_uri"], mlflow.get("model_id") or "")
    if source.startswith("mlflow-artifacts:"):
        run_id, folder = locate(re.sub(r"^mlflow-artifacts:(//[^/]*)?/?", "", source))
        return load_run(project, run_id), folder
    if source.startswith("runs:/"):
        run_id, _, folder = source[len("runs:/"):].partition("/")
        return load_run(project, run_id), folder.strip("/")
    raise invalid(f"Unsupported model version source {source!r}: log the model to this server first.")


def _model_file(project: Project, holder: Run, folder: str) -> tuple[bytes, dict[str, Any]]:
    """The pickled scikit-learn model in an MLflow model folder, and its MLmodel description."""
    prefix = f"{folder}/" if folder else ""
    mlmodel_digest = holder.artifacts.get(f"{prefix}MLmodel")
    if mlmodel_digest is None:
        raise invalid(f"No MLmodel file under {folder or 'the model root'!r}: register a folder written by "
                      "mlflow.<flavor>.log_model.")
    description = yaml.load(project.stores.artifacts.get_bytes(mlmodel_digest), Loader=SAFE_LOADER) or {}
    sklearn = (description.get("flavors") or {}).get("sklearn") or {}
    file = sklearn.get("pickled_model")
    if not file or sklearn.get("serialization_format", "cloudpickle") not in PICKLE_FORMATS:
        raise invalid("Conveyor registers scikit-learn models saved with serialization_format='cloudpickle' or "
                      f"'pickle' (this one: {sklearn.get('serialization_format') or 'not scikit-learn'}).")
    digest = holder.artifacts.get(f"{prefix}{file}")
    if digest is None:
        raise invalid(f"The model folder names {file!r}, which was not uploaded.")
    return project.stores.artifacts.get_bytes(digest), description


_DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool",
           "string": "object", "datetime": "datetime64[ns]"}


def signature_inputs(description: dict[str, Any]) -> list[dict[str, str]]:
    """The input columns of an MLmodel's signature, as Conveyor's signature lists them (a tensor of k columns is
    ``f0..f{k-1}``, as for a NumPy example); [] when there is none."""
    raw = (description.get("signature") or {}).get("inputs")
    try:
        specs = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        return []
    inputs = []
    for i, spec in enumerate(specs if isinstance(specs, list) else []):
        if not isinstance(spec, dict):
            return []
        if spec.get("type") == "tensor":
            shape = (spec.get("tensor-spec") or {}).get("shape") or []
            width = shape[-1] if len(shape) == 2 and isinstance(shape[-1], int) and shape[-1] > 0 else 0
            dtype = str((spec.get("tensor-spec") or {}).get("dtype", "float64"))
            return [{"name": f"f{k}", "dtype": dtype, "kind": "numeric"} for k in range(width)]
        dtype = _DTYPES.get(str(spec.get("type")), "object")
        inputs.append({"name": str(spec.get("name", f"f{i}")), "dtype": dtype,
                       "kind": "categorical" if dtype in ("object", "bool") else "numeric"})
    return inputs


def _gates(project: Project, metrics: dict[str, float], model_bytes: int) -> dict[str, Any] | None:
    """The project's quality gates on the training run's logged metrics (``min``, ``max``, ``max_model_mb``: the
    rules that need a holdout Conveyor evaluated itself are not checked), as training records them."""
    rules = {k: v for k, v in (project.config.gates.rules() or {}).items() if k in ("min", "max", "max_model_mb")}
    if not rules:
        return None
    from conveyor.train.gates import evaluate_gates, summary  # deferred: the training stack

    return summary(evaluate_gates(rules, metrics=metrics, metric="", fairness={}, latency_ms=0.0,
                                  model_bytes=model_bytes, champion=None))


@endpoint("/model-versions/create", "POST", action="models.register")
def create_model_version(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name = c.text(fields, "name")
    source = c.text(fields, "source", required=False)
    model_id = c.text(fields, "model_id", required=False)
    holder, folder = _source_location(project, source, model_id)
    data, description = _model_file(project, holder, folder)
    run_id = c.text(fields, "run_id", required=False) or holder.tags.get(SOURCE_RUN_TAG) or holder.id
    training = load_run(project, run_id)
    experiment = holder.experiment or "0"
    download = (f"mlflow-artifacts:/{experiment}/models/m-{holder.id}/artifacts"
                if holder.tags.get(c.KIND_TAG) == "logged_model"
                else c.run_artifact_uri(experiment, holder.id) + (f"/{folder}" if folder else ""))
    metrics = {k: v for k, v in training.metrics.items() if math.isfinite(v)}
    meta: dict[str, Any] = {"mlflow": {"source": source or download, "download_uri": download, "model_id": model_id,
                       "tags": c.key_values(fields.get("tags"), "tags"),
                       "description": c.text(fields, "description", required=False)}}
    gates = _gates(project, metrics, len(data))
    if gates is not None:
        meta["gates"] = gates
    version = register_untrusted(project.stores, data, name, flavor="sklearn", run_id=training.id,
                                 dataset=training.dataset, meta=meta, inputs=signature_inputs(description),
                                 metrics=metrics)
    return {"model_version": version_out(project, version)}


@endpoint("/model-versions/get", "GET", action="read")
def get_model_version(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": version_out(project, _model_version(project, fields))}


@endpoint("/model-versions/get-download-uri", "GET", action="models.download")
def get_download_uri(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    version = _model_version(project, fields)
    uri = version.meta.get("mlflow", {}).get("download_uri")
    if not uri:
        raise invalid(f"Model {version.ref} was not logged through MLflow: download it with `conveyor models "
                      "export` or GET /api/v1/models/{name}/versions/{n}/file.")
    return {"artifact_uri": uri}


@endpoint("/model-versions/search", "GET", action="read")
def search_model_versions(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    text = c.text(fields, "filter", required=False)
    deleted = {(n.name, n.version) for n in project.stores.registry.notes() if n.deleted and n.version}
    versions = [v for v in project.stores.registry.versions() if (v.name, v.version) not in deleted]
    if text:
        match = re.match(r"^\s*(name|run_id)\s*=\s*'([^']*)'\s*$", text, re.IGNORECASE)
        if match:
            field, value = match.group(1).lower(), match.group(2)
            versions = [v for v in versions if (v.name if field == "name" else v.run_id) == value]
        else:
            keep = _name_filter(text)
            versions = [v for v in versions if keep(v.name)]
    size = c.integer(fields, "max_results", 10000)
    return {"model_versions": [version_out(project, v) for v in versions[:size]]}


def _promote(project: Project, version: ModelVersion, alias: str) -> None:
    policy = promotion_policy(project)
    ref = version.ref
    if policy.enabled and alias in policy.environments.names():
        result = project.models.promote_to(ref, alias, reason="MLflow client")
    else:
        result = project.models.promote(ref, alias, reason="MLflow client")
    if isinstance(result, ApprovalRequest):
        raise MlflowError("INVALID_STATE", f"Moving {version.name}@{alias} to version {version.version} needs an "
                          f"approval: request {result.id} is pending (`conveyor models approve {result.id}`).")


@endpoint("/registered-models/alias", "POST", action="models.promote")
def set_alias(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    alias = c.text(fields, "alias")
    _promote(project, _model_version(project, fields), alias)
    return {}


@endpoint("/registered-models/alias", "GET", action="read")
def get_version_by_alias(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name, alias = c.text(fields, "name"), c.text(fields, "alias")
    stored = promotion_policy(project).alias_for(alias)
    number = project.stores.registry.aliases(name).get(stored) if _versions(project, name) else None
    if number is None:
        raise missing(f"Registered model alias {alias} not found.")
    return {"model_version": version_out(project, project.stores.registry.get_version(name, number))}


@endpoint("/registered-models/alias", "DELETE", action="models.promote")
def delete_alias(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    name, alias = c.text(fields, "name"), c.text(fields, "alias")
    policy = promotion_policy(project)
    stored = policy.alias_for(alias)
    if policy.needs_approval(stored):
        raise MlflowError("PERMISSION_DENIED", f"{name}@{alias} is protected: move it with `conveyor models "
                          "promote` (approvals) or roll it back with `conveyor models rollback`.", 403)
    if stored not in project.stores.registry.aliases(name):
        raise missing(f"Registered model alias {alias} not found.")
    project.stores.registry.set_alias(name, stored, None, AuditNote(current_actor(), "alias.delete",
                                                                    {"via": "mlflow"}))
    return {}


@endpoint("/model-versions/transition-stage", "POST", action="models.promote")
def transition_stage(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Production moves ``champion``, Staging ``challenger`` (through promote); None and Archived are refused."""
    version = _model_version(project, fields)
    stage = c.text(fields, "stage")
    alias = {k.lower(): v for k, v in STAGE_ALIASES.items()}.get(stage.lower())
    if alias is None:
        raise invalid(f"Stage {stage!r} is not supported: Conveyor moves aliases (Production is champion, Staging "
                      "is challenger); use `conveyor models rollback` to move one back.")
    _promote(project, version, alias)
    return {"model_version": version_out(project, project.stores.registry.get_version(version.name,
                                                                                        version.version))}


def promotion_policy(project: Project) -> Any:
    from conveyor.project._options import promotion_policy as policy  # deferred: the registry's stack

    return policy(project)


def register_untrusted(*args: Any, **kwargs: Any) -> Any:
    from conveyor.registry.importing import register_untrusted as register  # deferred: pandas

    return register(*args, **kwargs)
