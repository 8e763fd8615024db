"""Every failure of ``/api/v1`` as the error tree's body ``{"error", "message", "field", "hint"}``.

A user's mistake is a 4xx from the error's ``http_status``; a store that cannot be reached is 503 with
Retry-After (the next request tries again: the engine reconnects); a bug is 500 with no traceback in the body
(the server log has it). No body carries a traceback, a path outside the project or a store password."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from conveyor.core.errors import ConveyorError, StoreError
from conveyor.server.responses import JSONBytes
from conveyor.store.urls import mask

RETRY_AFTER_S = 2
MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow")  # -artifacts too
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "bad_input"}


def body(error: str, message: str, field: str | None = None, hint: str | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "field": field, "hint": hint}


def error_body(exc: ConveyorError) -> dict[str, Any]:
    return body(exc.code, mask(exc.message), exc.field, exc.hint)


async def _conveyor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConveyorError)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.http_status == 503 else {}
    headers.update(getattr(exc, "http_headers", None) or {})  # e.g. a 429's Retry-After
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if request.url.path.startswith(MLFLOW_PREFIXES):  # a refusal before the MLflow route ran (auth, rate limits)
        from conveyor.server.mlflow.errors import from_conveyor

        refused = from_conveyor(exc)
        return JSONBytes(refused.body(), status_code=refused.status, headers=headers)
    return JSONBytes(error_body(exc), status_code=exc.http_status, headers=headers)


async def _store_down(request: Request, exc: Exception) -> Response:
    unavailable = StoreError("The project's store cannot be reached right now.", field="store",
                             hint=f"Try again in {RETRY_AFTER_S} s; the server reconnects by itself.")
    return await _conveyor_error(request, unavailable)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    first = problems[0] if problems else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")) or "body"
    message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in problems)
    return JSONBytes(body("bad_input", f"Invalid request: {message or 'invalid'}.", where,
                          "See /api/v1/openapi.json for this endpoint's parameters."), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(MLFLOW_PREFIXES):  # MLflow clients read MLflow's error shape
        code = "ENDPOINT_NOT_FOUND" if exc.status_code in (404, 405) else "BAD_REQUEST"
        return JSONBytes({"error_code": code, "message": f"{request.method} {request.url.path}: "
                          f"{'not supported by this server' if exc.status_code in (404, 405) else exc.detail}."},
                         status_code=exc.status_code, headers=dict(exc.headers or {}))
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"No endpoint at {request.url.path!r}."
        hint = "See /api/v1/openapi.json for the endpoints of this server."
    elif exc.status_code == 405:
        message, hint = f"{request.method} is not allowed on {request.url.path!r}.", None
    else:
        hint = None
    return JSONBytes(body(_HTTP_CODES.get(exc.status_code, "http_error"), message, None, hint),
                     status_code=exc.status_code, headers=dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONBytes(body("internal", f"Internal server error ({type(exc).__name__}).", None,
                          "The server's log has the details; please report it."), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ConveyorError, _conveyor_error)
    app.add_exception_handler(sa.exc.OperationalError, _store_down)
    app.add_exception_handler(sa.exc.InterfaceError, _store_down)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
