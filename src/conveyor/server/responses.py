"""JSON responses rendered by orjson (numpy scalars and arrays included): every answer of /api/v1."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Cannot serialise a {type(value).__name__} to JSON.")


class JSONBytes(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
