"""JSON responses (orjson, numpy-aware) and the error handlers that turn every failure into a JSON body.

Every error body has the shape of :meth:`ConveyorError.to_dict`: ``{"error": code, "message": ..., "field"?: ...}``,
so a client parses one shape whatever went wrong: a bad payload (4xx from the error's ``http_status``), a
request FastAPI itself rejected (422), an unknown route (404) or a server bug (500, logged with its traceback).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from conveyor.core.dependencies import extra_imports
from conveyor.core.errors import ConveyorError

with extra_imports("serve"):
    from fastapi import FastAPI, Request, Response
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                 415: "unsupported_media_type", 422: "bad_input"}


def _default(value: Any) -> Any:
    np = sys.modules.get("numpy")  # a numpy value exists only once numpy is loaded: never imported for this
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if np is not None and isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Cannot serialise a {type(value).__name__} to JSON.")


class JSONBytes(Response):
    """``application/json`` rendered by orjson: fast, and numpy arrays and scalars serialise as plain JSON."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render_json(content)


def render_json(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONBytes:
    return JSONBytes(body, status_code=status, headers=headers)


def _count(request: Request, kind: str) -> None:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.errors.labels(kind).inc()


async def _conveyor_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConveyorError)
    _count(request, exc.code)
    return error_response(exc.http_status, exc.to_dict())


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    _count(request, "bad_input")
    problems = list(exc.errors())
    first = problems[0] if problems else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "body"
    message = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in problems)
    return error_response(422, {"error": "bad_input", "message": f"Invalid request: {message or 'invalid'}.",
                                "field": where})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    _count(request, _STATUS_CODES.get(exc.status_code, "http_error"))
    message = str(exc.detail)
    body: dict[str, str] = {"error": _STATUS_CODES.get(exc.status_code, "http_error")}
    if exc.status_code == 404 and message == "Not Found":
        message = f"No endpoint at {request.url.path!r}. See /docs for the endpoints this server has."
        body["field"] = "path"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r}."
        body["field"] = "method"
    return error_response(exc.status_code, {**body, "message": message}, headers=dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    _count(request, "internal")
    # Starlette re-raises after sending this, so the server log keeps the traceback.
    return error_response(500, server_error_body(exc))


def server_error_body(exc: Exception) -> dict[str, str]:
    return {"error": "internal", "message": f"Internal server error ({type(exc).__name__}). The server log has the "
                                            "details."}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConveyorError, _conveyor_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, server_error)
