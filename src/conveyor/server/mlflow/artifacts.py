"""Artifacts through the server, as ``mlflow server --serve-artifacts`` proxies them: a run's artifact URI is
``mlflow-artifacts:/<experiment>/<run>/artifacts`` (a logged model's ``mlflow-artifacts:/<experiment>/models/<model
id>/artifacts``), and the client uploads (PUT), downloads (GET) and lists (GET ``?path=``) under
``/api/2.0/mlflow-artifacts/artifacts/``. The bytes go into Conveyor's content-addressed artifact store and the run
names each file (``runs show`` lists them beside the artifacts of ``conveyor train``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import blake3
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from conveyor.core.entities import Run
from conveyor.core.errors import NotFoundError
from conveyor.server.limits import limits_of, read_body, too_large
from conveyor.server.mlflow import convert as c
from conveyor.server.mlflow.endpoints import endpoint, error_response
from conveyor.server.mlflow.errors import invalid, missing
from conveyor.server.responses import JSONBytes

if TYPE_CHECKING:
    from conveyor.project import Project

PROXY_PREFIXES = ("/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts")
PROXY_ACTIONS = {"GET /mlflow-artifacts/artifacts/{path}": "read", "PUT /mlflow-artifacts/artifacts/{path}":
                 "runs.write", "GET /mlflow-artifacts/artifacts": "read"}
MODEL_ID_PREFIX = "m-"
STREAM_ABOVE = 8 * 1024 * 1024  # bytes: a larger upload goes to a temporary file as it arrives


def run_of_model(model_id: str) -> str:
    """The Conveyor run that holds the logged model ``model_id`` (``m-<run id>``)."""
    if not model_id.startswith(MODEL_ID_PREFIX) or len(model_id) <= len(MODEL_ID_PREFIX):
        raise missing(f"Logged model with ID '{model_id}' not found.")
    return model_id[len(MODEL_ID_PREFIX):]


def locate(path: str) -> tuple[str, str]:
    """``(run id, artifact name or folder)`` that a proxied artifact path names."""
    parts = [p for p in path.strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise invalid(f"Invalid artifact path {path!r}.")
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        return run_of_model(parts[2]), "/".join(parts[4:])
    if len(parts) >= 3 and parts[2] == "artifacts":
        return parts[1], "/".join(parts[3:])
    raise missing(f"No artifact at {path!r}: artifact paths are <experiment>/<run>/artifacts/<name>.")


def load_run(project: Project, run_id: str) -> Run:
    try:
        run = project.stores.runs.get(run_id)
    except NotFoundError:
        raise missing(f"Run with id={run_id} not found") from None
    if run.id != run_id:
        raise missing(f"Run with id={run_id} not found")
    return run


def listing(run: Run, folder: str) -> list[dict[str, Any]]:
    """One level of the run's artifacts under ``folder``: names relative to it, folders first marked."""
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    seen: dict[str, bool] = {}
    for name in sorted(run.artifacts):
        if name.startswith(prefix) and name != prefix:
            head, slash, _rest = name[len(prefix):].partition("/")
            seen[head] = seen.get(head, False) or bool(slash)
    return [{"path": name, "is_dir": True} if is_dir else {"path": name, "is_dir": False}
            for name, is_dir in seen.items()]


def check_run(project: Project, run_id: str) -> None:
    """RESOURCE_DOES_NOT_EXIST unless a run has exactly this id (one indexed lookup, the run is not loaded)."""
    try:
        found = project.stores.runs.resolve_id(run_id)
    except NotFoundError:
        found = None
    if found != run_id:
        raise missing(f"Run with id={run_id} not found")


def upload(project: Project, path: str, data: bytes) -> None:
    run_id, name = locate(path)
    if not name:
        raise invalid(f"Artifact path {path!r} names a folder, not a file.")
    check_run(project, run_id)
    project.stores.runs.add_artifact(run_id, name, project.stores.artifacts.put_bytes(data))


async def upload_streamed(request: Request, path: str, limit: int) -> None:
    """Receive the body into a temporary file, hashing as it arrives, and hand the file to the artifact store."""
    project: Project = request.app.state.project
    run_id, name = locate(path)
    if not name:
        raise invalid(f"Artifact path {path!r} names a folder, not a file.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    await run_in_threadpool(check_run, project, run_id)
    hasher = blake3.blake3()
    total = 0
    with tempfile.NamedTemporaryFile(prefix="conveyor-upload-") as spool:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise too_large(total, limit)
            hasher.update(chunk)
            await run_in_threadpool(spool.write, chunk)
        await run_in_threadpool(spool.flush)
        digest = await run_in_threadpool(project.stores.artifacts.put_file, spool.name, hasher.hexdigest())
    await run_in_threadpool(project.stores.runs.add_artifact, run_id, name, digest)


def download(project: Project, path: str) -> bytes:
    run_id, name = locate(path)
    run = load_run(project, run_id)
    if name not in run.artifacts:
        raise missing(f"Artifact {name!r} of run {run_id} not found.")
    return project.stores.artifacts.get_bytes(run.artifacts[name])


def add_proxy_routes(router: APIRouter, requires: Callable[[str], Any] | None) -> None:
    def deps(action: str) -> list[Any]:
        return [requires(action)] if requires else []

    async def put(request: Request, path: str) -> Response:
        try:
            limit = limits_of(request).max_body
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) <= STREAM_ABOVE:
                data = await read_body(request, limit)
                await run_in_threadpool(upload, request.app.state.project, path, data)
            else:  # a large (or unsized) file: streamed to disk, never whole in memory
                await upload_streamed(request, path, limit)
        except Exception as exc:
            return error_response(exc)
        return JSONBytes({})

    async def get(request: Request, path: str) -> Response:
        try:
            data = await run_in_threadpool(download, request.app.state.project, path)
        except Exception as exc:
            return error_response(exc)
        return Response(data, media_type="application/octet-stream")

    async def list_folder(request: Request) -> Response:
        try:
            path = request.query_params.get("path", "")
            run_id, folder = locate(path)
            run = await run_in_threadpool(load_run, request.app.state.project, run_id)
            files = listing(run, folder)
        except Exception as exc:
            return error_response(exc)
        return JSONBytes({"files": files})

    for prefix in PROXY_PREFIXES:
        router.add_api_route(prefix, list_folder, methods=["GET"], dependencies=deps("read"))
        router.add_api_route(prefix + "/{path:path}", put, methods=["PUT"], dependencies=deps("runs.write"))
        router.add_api_route(prefix + "/{path:path}", get, methods=["GET"], dependencies=deps("read"))


@endpoint("/artifacts/list", "GET", action="read")
def list_artifacts(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    run = load_run(project, c.text(fields, "run_id", required=False) or c.text(fields, "run_uuid"))
    folder = c.text(fields, "path", required=False).strip("/")
    files = [{**f, "path": f"{folder}/{f['path']}" if folder else f["path"]} for f in listing(run, folder)]
    return {"root_uri": c.run_artifact_uri(run.experiment or "0", run.id), "files": files}
