"""Finding one record by its id or a unique prefix of it, and the errors when that fails: written once for every
role (runs, alerts, dataset versions).

Rules: an exact id wins; otherwise the one id that starts with the prefix (prefixes shorter than ``min_prefix`` match
nothing); several candidates is a :class:`BadInputError` ("ambiguous"), none is the role's :class:`NotFoundError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from conveyor.core.errors import BadInputError, NotFoundError

T = TypeVar("T")


def pick_by_prefix(wanted: str, found: Iterable[T], key: Callable[[T], str], *,
                   not_found: Callable[[], NotFoundError], ambiguous: str, min_prefix: int = 1,
                   field: str | None = None) -> T:
    """The record of ``found`` whose ``key`` is ``wanted``, else the only one whose key starts with it.

    ``found`` may hold unrelated records (they are filtered here), so a backend can pass a superset (say, the first
    few rows of a LIKE query). ``ambiguous`` is the message for several matches; ``not_found`` builds the error for
    none (a callable, so a hint that costs a query is only computed when it is shown)."""
    candidates = list(found)
    for record in candidates:
        if key(record) == wanted:
            return record
    matches = [r for r in candidates if key(r).startswith(wanted)] if len(wanted) >= max(min_prefix, 1) else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise BadInputError(ambiguous, field=field, hint="Give more characters of the id.")
    raise not_found()


def like_prefix(prefix: str) -> str:
    """A SQL LIKE pattern matching ``prefix`` literally (escape character: backslash)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
