"""``/api/v1/models`` and ``/api/v1/audit``: versions, aliases and their history, cards, evaluation, promote
(through the registry's gates), rollback, a version's package, and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from conveyor.core.errors import BadInputError
from conveyor.server.auth import downloaded, requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, as_json, page
from conveyor.server.routers.approvals import promotion_answer
from conveyor.server.uploads import Area

router = APIRouter(tags=["models"])
Body = Annotated[dict[str, Any], Depends(json_body)]


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise BadInputError("reason must be a string.", field="reason")
    return reason


@router.get("/models", dependencies=[requires("read")])
def list_versions(project: ProjectDep, name: str | None = None, cursor: Cursor = None, limit: Limit = 50
                  ) -> dict[str, Any]:
    """Model versions ordered by name and version (of ``name`` only, when given)."""
    return page(lambda n: project.models.list(name), cursor, limit)


@router.get("/models/deleted", dependencies=[requires("read")])
def deleted_versions(project: ProjectDep, name: str | None = None) -> dict[str, Any]:
    """The refs (``NAME:N``, sorted) of the versions an MLflow client deleted (of ``name`` only, when given): kept
    by Conveyor, hidden from MLflow clients. Apart from the versions' JSON, which older clients load field by
    field."""
    return {"items": sorted(project.models.deleted(name))}


@router.get("/models/resolve", dependencies=[requires("read")])
def resolve(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The version ``MODEL:N``, ``MODEL@ALIAS`` or ``MODEL`` (its newest) names."""
    return as_json(project.models.get(ref))


@router.get("/models/card", dependencies=[requires("read")])
def card(project: ProjectDep, ref: str) -> dict[str, Any]:
    """The model card of a version."""
    return project.models.card(ref)


@router.post("/models/{name}/versions", status_code=201, dependencies=[requires("models.register", model="name")])
def register(project: ProjectDep, uploads: Area, name: str, body: Body) -> dict[str, Any]:
    """Register a version from an upload of its package: ``{"upload", "flavor", "signature", "run_id"?,
    "dataset"?, "metrics"?, "meta"?}`` (what ``run.log_model`` sends from a client; the bytes are stored, never
    loaded here). Without ``metrics``, the run's latest metrics."""
    from conveyor.registry.models import check_flavor, register_package  # deferred: pandas

    upload, flavor, signature = body.get("upload"), body.get("flavor"), body.get("signature")
    if not isinstance(upload, str) or not isinstance(flavor, str) or not isinstance(signature, dict):
        raise BadInputError("A registration needs upload (the package's upload id), flavor and signature.",
                            field="upload" if not isinstance(upload, str) else
                            "flavor" if not isinstance(flavor, str) else "signature")
    check_flavor(flavor)
    run_id, dataset = body.get("run_id"), body.get("dataset")
    metrics, meta = body.get("metrics"), body.get("meta") or {}
    if not isinstance(meta, dict) or (metrics is not None and not isinstance(metrics, dict)):
        raise BadInputError("metrics and meta must be objects.", field="meta" if not isinstance(meta, dict)
                            else "metrics")
    if run_id is not None:
        run = project.runs.get(str(run_id))
        run_id, dataset = run.id, dataset or run.dataset
        metrics = run.metrics if metrics is None else metrics
    package = uploads.finished(upload).read_bytes()
    version = register_package(project.stores, package, name, flavor=flavor, signature=signature, run_id=run_id,
                               dataset=dataset, metrics=metrics, meta=_logged_meta(project, meta))
    uploads.remove(upload)
    return as_json(version)


def _logged_meta(project: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """A client's meta without what only the server may say (gate results, signatures). Where the server's
    conveyor.yaml sets ``gates:``, the version records one failed gate: it was not evaluated on the server's
    holdout, so promoting it takes ``--override-gates`` with a reason (audited), as any failed gate does."""
    from conveyor.store.signing import META_KEY

    kept = {k: v for k, v in meta.items() if k not in ("gates", META_KEY)}
    if project.config.gates.rules():
        kept["gates"] = {"passed": False, "rules": [{
            "rule": "trained_on_server", "passed": False, "value": None, "threshold": None,
            "detail": "trained on a client and logged here: the server's gates were not evaluated on its "
                      "holdout; train on the server with `conveyor train --remote`, or promote with "
                      "--override-gates and a reason"}]}
    return kept


@router.get("/models/{name}/versions/{version}", dependencies=[requires("read")])
def show(project: ProjectDep, name: str, version: int) -> dict[str, Any]:
    return as_json(project.models.get(f"{name}:{version}"))


@router.get("/models/{name}/versions/{version}/evaluation", dependencies=[requires("read")])
def evaluation(project: ProjectDep, name: str, version: int) -> dict[str, Any]:
    return project.runs.evaluation(f"{name}:{version}")


@router.get("/models/{name}/versions/{version}/file", dependencies=[requires("models.download", model="name")])
def package(request: Request, project: ProjectDep, name: str, version: int) -> Response:
    """The version's model package (its bytes are checked against their hash on load); audited. An imported
    pickle nobody trusted is refused (403), as loading it locally is."""
    from conveyor.registry.trust import check_loadable

    found = project.models.get(f"{name}:{version}")
    check_loadable(project.stores, found)
    data = project.stores.artifacts.get_bytes(found.artifact)
    downloaded(request, "model", found.ref, len(data))
    return Response(data, media_type="application/octet-stream")


@router.get("/models/{name}/aliases", dependencies=[requires("read")])
def aliases(project: ProjectDep, name: str) -> dict[str, int]:
    project.models.get(name)  # unknown model -> 404 with "did you mean"
    return project.models.aliases(name)


@router.get("/models/{name}/aliases/{alias}/history", dependencies=[requires("read")])
def alias_history(project: ProjectDep, name: str, alias: str, cursor: Cursor = None, limit: Limit = 50
                  ) -> dict[str, Any]:
    """Every move of the alias, oldest first."""
    return page(lambda n: project.models.alias_history(name, alias), cursor, limit)


@router.post("/models/{name}/aliases/{alias}", dependencies=[requires("models.promote", model="name")])
def promote(project: ProjectDep, name: str, alias: str, body: Body) -> dict[str, Any]:
    """Point ``alias`` at ``{"version": N}`` through the registry's gates (``override_gates`` needs a reason)."""
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BadInputError(f"version must be an integer, not {version!r}.", field="version")
    change = project.models.promote(f"{name}:{version}", alias, reason=_reason(body),
                                    override_gates=bool(body.get("override_gates", False)))
    return promotion_answer(change)


@router.post("/models/{name}/aliases/{alias}/rollback", dependencies=[requires("models.promote", model="name")])
def rollback(project: ProjectDep, name: str, alias: str, body: Body) -> dict[str, Any]:
    """Move ``alias`` back to the version it held before its latest promotion."""
    return as_json(project.models.rollback(name, alias, reason=_reason(body)))


@router.get("/audit", dependencies=[requires("read")])
def audit(project: ProjectDep, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """The registry's audit trail, oldest first."""
    return page(lambda n: project.models.audit(), cursor, limit)


@router.post("/audit/verify", dependencies=[requires("read")])
def verify(project: ProjectDep) -> dict[str, Any]:
    """Check the audit chain and that the registry matches it (409 when it does not)."""
    return {"verified": project.models.verify()}
