"""The MLflow routes as one table: each endpoint is a plain function ``handler(project, request) -> dict`` declared
with :func:`endpoint` (its MLflow path, method and the action from ``conveyor.security.roles.ACTIONS`` that a
caller needs); :func:`build_router` serves the table under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``.

A request's fields come from its JSON body (POST, PATCH, DELETE) or its query string (GET; a repeated key is a list),
as the MLflow client sends them. Every failure leaves in MLflow's shape (:mod:`.errors`)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from conveyor.core.errors import ConveyorError
from conveyor.core.jsonscan import nests_deeper_than
from conveyor.server.limits import limits_of, read_body
from conveyor.server.mlflow.errors import MlflowError, from_conveyor, invalid
from conveyor.server.responses import JSONBytes

if TYPE_CHECKING:
    from conveyor.project import Project

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Endpoint:
    path: str  # below the prefix, e.g. "/runs/create"
    method: str
    handler: Handler
    action: str  # a key of conveyor.security.roles.ACTIONS


ENDPOINTS: list[Endpoint] = []


def endpoint(path: str, method: str, *, action: str) -> Callable[[Handler], Handler]:
    """Declare ``handler(project, request, **path_params)`` as the MLflow endpoint ``method path``."""
    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(path, method, handler, action))
        return handler
    return register


def error_response(exc: Exception) -> Response:
    if isinstance(exc, ConveyorError):
        exc = from_conveyor(exc)
    if not isinstance(exc, MlflowError):
        exc = MlflowError("INTERNAL_ERROR", f"Internal server error ({type(exc).__name__}).", 500)
    return JSONBytes(exc.body(), status_code=exc.status)


async def request_fields(request: Request) -> dict[str, Any]:
    """The request's fields: its JSON object for a body-carrying method, else its query string."""
    fields: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in fields:
            fields[key] = (fields[key] if isinstance(fields[key], list) else [fields[key]]) + [value]
        else:
            fields[key] = value
    if request.method in ("POST", "PATCH", "DELETE", "PUT"):
        limits = limits_of(request)
        raw = await read_body(request, min(limits.max_body, limits.max_json))
        if raw.strip():
            if nests_deeper_than(raw, limits.max_depth):
                raise invalid(f"The request body nests deeper than {limits.max_depth} levels.")
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                raise invalid("The request body is not valid JSON.") from None
            if not isinstance(data, dict):
                raise invalid("The request body must be a JSON object.")
            fields.update(data)
    return fields


def _route(item: Endpoint) -> Callable[[Request], Any]:
    async def route(request: Request) -> Response:
        try:
            fields = await request_fields(request)
            project: Project = request.app.state.project
            result = await run_in_threadpool(item.handler, project, fields, **request.path_params)
        except Exception as exc:
            return error_response(exc)
        return JSONBytes(result)
    route.__name__ = f"mlflow_{item.handler.__name__}"
    return route


DECLARING = ("artifacts", "experiments", "logged_models", "registry", "registry_edits", "tracking")


def declare_all() -> None:
    """Import the modules that declare endpoints (each ``@endpoint`` adds one to ENDPOINTS)."""
    for module in DECLARING:
        importlib.import_module(f"conveyor.server.mlflow.{module}")


def build_router(requires: Callable[[str], Any] | None = None) -> APIRouter:
    """Every declared endpoint under both prefixes; ``requires(action)``, when given, is a dependency that checks
    the caller may do the endpoint's action (the auth layer's role check)."""
    from conveyor.server.mlflow import artifacts

    declare_all()

    router = APIRouter(include_in_schema=False)
    for prefix in PREFIXES:
        for item in ENDPOINTS:
            dependencies = [requires(item.action)] if requires else []
            router.add_api_route(prefix + item.path, _route(item), methods=[item.method],
                                 dependencies=dependencies)
    artifacts.add_proxy_routes(router, requires)
    return router


def actions() -> dict[str, str]:
    """``"METHOD /path"`` (below the MLflow prefix) -> the action a caller needs, for every MLflow endpoint."""
    from conveyor.server.mlflow import artifacts

    declare_all()

    return {**{f"{e.method} {e.path}": e.action for e in ENDPOINTS}, **artifacts.PROXY_ACTIONS}
