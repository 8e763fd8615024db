"""``/api/v1/datasets``: versions, log, show (with profile), diff, lineage, personal-data scan, contracts,
validation, derived versions (filter, split), and a version's Parquet file. New data arrives through
``/api/v1/uploads``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from conveyor.core.errors import BadInputError
from conveyor.server.auth import downloaded, requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, as_json, page

router = APIRouter(prefix="/datasets", tags=["datasets"])
Body = Annotated[dict[str, Any], Depends(json_body)]


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise BadInputError(f"{key!r} must be a non-empty string, not {value!r}.", field=key)
    return value


def _optional(body: dict[str, Any], key: str) -> str | None:
    return None if body.get(key) is None else _text(body, key)


@router.get("", dependencies=[requires("read")])
def list_versions(project: ProjectDep, name: str | None = None, cursor: Cursor = None, limit: Limit = 50
                  ) -> dict[str, Any]:
    """Dataset versions, oldest first (of ``name`` only, when given); without their profiles."""
    def brief(version: Any) -> dict[str, Any]:
        item = as_json(version)
        item.pop("profile", None)
        return item

    return page(lambda n: project.data.list(name), cursor, limit, brief)


@router.get("/diff", dependencies=[requires("read")])
def diff(project: ProjectDep, a: str, b: str) -> dict[str, Any]:
    """Schema changes, row counts and per-column shift from ``a`` to ``b``."""
    return project.data.diff(a, b)


@router.post("/validate", dependencies=[requires("read")])
def validate(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Check a stored version against a contract: ``{"ref", "against"?, "name"?}`` (the server's contracts/)."""
    report = project.data.validate(_text(body, "ref"), against=_optional(body, "against"),
                                   name=_optional(body, "name"))
    return report.as_dict()


@router.post("/contracts", dependencies=[requires("data.write", dataset="body.ref")])
def contract(project: ProjectDep, body: Body) -> dict[str, Any]:
    """Infer a contract from ``{"ref"}`` and keep it as the server project's contracts/NAME.yaml."""
    path, inferred = project.data.contract(_text(body, "ref"), force=bool(body.get("force", False)))
    return {"path": str(path.relative_to(project.root)), "contract": inferred}


@router.get("/{name}/log", dependencies=[requires("read")])
def log(project: ProjectDep, name: str, cursor: Cursor = None, limit: Limit = 50) -> dict[str, Any]:
    """Every version of ``name`` with what changed since the one before."""
    return page(lambda n: project.data.log(name), cursor, limit)


@router.get("/{ref}", dependencies=[requires("read")])
def show(project: ProjectDep, ref: str) -> dict[str, Any]:
    """One version (``NAME``, ``NAME@VERSION`` or ``NAME@latest``) with its profile."""
    return as_json(project.data.get(ref))


@router.get("/{ref}/lineage", dependencies=[requires("read")])
def lineage(project: ProjectDep, ref: str) -> dict[str, Any]:
    return project.data.lineage(ref)


@router.get("/{ref}/scan", dependencies=[requires("read")])
def scan(project: ProjectDep, ref: str) -> list[dict[str, Any]]:
    """Columns that look personal."""
    return project.data.scan(ref)


@router.get("/{ref}/file", dependencies=[requires("read")])
def file(request: Request, project: ProjectDep, ref: str) -> Response:
    """The version's stored Parquet file."""
    version = project.data.get(ref)
    if version.meta.get("kind") == "files":
        raise BadInputError(f"{version.ref} is a set of files, not a table.", field="ref",
                            hint="Check it out on the server's host with `conveyor data checkout`.")
    data = project.stores.artifacts.get_bytes(version.artifact)
    downloaded(request, "dataset", version.ref, len(data))
    return Response(data, media_type="application/vnd.apache.parquet")


@router.post("/{ref}/filter", dependencies=[requires("data.write", dataset="body.name")])
def filter_rows(project: ProjectDep, ref: str, body: Body) -> dict[str, Any]:
    """A derived version of the rows matching ``{"query"}``, named ``{"name"}``."""
    return as_json(project.data.filter(ref, _text(body, "query"), _text(body, "name")))


@router.post("/{ref}/split", dependencies=[requires("data.write", dataset="ref")])
def split(project: ProjectDep, ref: str, body: Body) -> list[dict[str, Any]]:
    fraction, seed = body.get("test_fraction", 0.2), body.get("seed", 0)
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not isinstance(seed, int):
        raise BadInputError("test_fraction must be a number and seed an integer.", field="test_fraction")
    return [as_json(v) for v in project.data.split(ref, test_fraction=float(fraction), seed=seed)]

