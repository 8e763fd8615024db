"""Cursor pagination for every list: ``?limit=N&cursor=C`` answers ``{"items": [...], "next": C | null}``.

A cursor is opaque to clients (a position in the list's order). Pages are capped at :data:`MAX_LIMIT` items, and a
list that a sub-API can bound (runs, alerts, audit) asks it for no more rows than the page needs."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Query

from conveyor.core.errors import BadInputError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items in this page.")]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page.")]


def encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("o") and text[1:].isdigit():
            return int(text[1:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise BadInputError(f"Cursor {cursor[:40]!r} is not one this server gave out.", field="cursor",
                        hint="Pass the `next` value of the previous page, or leave it out for the first page.")


def page(fetch: Callable[[int], Sequence[Any]], cursor: str | None, limit: int,
         render: Callable[[Any], Any] = lambda item: as_json(item)) -> dict[str, Any]:
    """One page: ``fetch(n)`` returns at least the first ``n`` items when there are that many (it may return all)."""
    start = decode(cursor)
    items = list(fetch(start + limit + 1))
    shown = items[start:start + limit]
    more = len(items) > start + limit
    return {"items": [render(item) for item in shown], "next": encode(start + limit) if more else None}


def page_at(fetch: Callable[[int, int], Sequence[Any]], cursor: str | None, limit: int,
            render: Callable[[Any], Any] = lambda item: as_json(item)) -> dict[str, Any]:
    """One page from a list that can skip: ``fetch(offset, n)`` returns up to ``n`` items from ``offset``, so a
    deep page reads no more rows than a first one."""
    start = decode(cursor)
    items = list(fetch(start, limit + 1))
    more = len(items) > limit
    return {"items": [render(item) for item in items[:limit]], "next": encode(start + limit) if more else None}


def as_json(item: Any) -> Any:
    """An entity (a dataclass) as a JSON-ready dict; anything else as it is."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return item
