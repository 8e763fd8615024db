"""What every request is checked against before a router sees it: body size, content type and JSON depth.

A request that breaks a limit is refused with the error tree's 4xx body; nothing past the limit is read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from conveyor.core.errors import BadInputError, InvalidJSONError, PayloadTooLargeError, UnsupportedMediaTypeError
from conveyor.core.jsonscan import nests_deeper_than

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # one request (an upload chunk included)
DEFAULT_MAX_UPLOAD = 10 * 1024**3  # one whole upload
MAX_JSON_BODY = 1024 * 1024  # a JSON body is a command, never data
MAX_DEPTH = 32


@dataclass(frozen=True)
class Limits:
    """``max_body``: bytes of one request body (413 above); ``max_upload``: bytes of one whole upload (413 when
    declared larger); ``max_json``: bytes of a JSON body; ``max_depth``: nesting of a JSON body (400 deeper)."""

    max_body: int = DEFAULT_MAX_BODY
    max_upload: int = DEFAULT_MAX_UPLOAD
    max_json: int = MAX_JSON_BODY
    max_depth: int = MAX_DEPTH


def limits_of(request: Request) -> Limits:
    return request.app.state.limits


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it passes ``limit`` bytes (by Content-Length first, then as it streams)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadInputError(f"Content-Length {declared!r} is not a number.", field="content-length") from None
        if size > limit:
            raise too_large(size, limit)
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(total, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(size: int, limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The request body ({size} bytes or more) is over the server's limit of {limit} "
                                "bytes.", field="body",
                                hint="Upload data in chunks through /api/v1/uploads, or raise the limit "
                                     "(conveyor server --max-body).")


def require_type(request: Request, *expected: str) -> None:
    """415 unless the Content-Type is one of ``expected`` (parameters such as charset ignored)."""
    given = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if given not in expected:
        raise UnsupportedMediaTypeError(f"Content-Type {given or '(none)'!r} is not accepted here.",
                                        field="content-type", hint=f"Send {' or '.join(expected)}.")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object: application/json, within the size and depth limits (an empty body is {})."""
    limits = limits_of(request)
    raw = await read_body(request, min(limits.max_body, limits.max_json))
    if not raw.strip():
        return {}
    require_type(request, "application/json")
    _check_depth(raw, limits.max_depth)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJSONError("The request body is not valid JSON.", field="body",
                               hint="Send one JSON object.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"The request body is a JSON {type(data).__name__}, not an object.", field="body",
                            hint="Send one JSON object, e.g. {\"reason\": \"...\"}.")
    return data


def _check_depth(raw: bytes, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` before parsing."""
    if nests_deeper_than(raw, limit):
        raise InvalidJSONError(f"The JSON body nests deeper than {limit} levels.", field="body",
                               hint="Send a flatter document.")


