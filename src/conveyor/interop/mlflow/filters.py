"""MLflow's run search grammar: filter strings and ``order_by`` items, parsed into clauses that run as bound SQL.

Grammar (what ``mlflow.search_runs`` accepts)::

    filter   := clause ("AND" clause)*
    clause   := identifier comparator value
    identifier := ("metrics"|"metric"|"params"|"param"|"tags"|"tag"|"attributes"|"attribute"|"attr"|"run")
                  "." (bare_key | `backticked key` | "double-quoted key")
    value    := number | 'single' or "double" quoted string | "(" string ("," string)* ")" | (nothing after IS NULL)

* ``metrics.K`` compares the run's latest value of K as a number (``= != > >= < <=``); the value must be an unquoted
  number.
* ``params.K`` and ``tags.K`` compare strings (``= != LIKE ILIKE``); the value must be quoted. A run without the key
  never matches (also not ``!=``); ``IS NULL`` and ``IS NOT NULL`` (no value) ask whether the run has the key.
* ``attributes.run_id|run_name|status|user_id`` compare strings (``= != LIKE ILIKE IN`` and ``NOT IN``);
  ``attributes.start_time|end_time`` (alias ``created`` for start_time) compare milliseconds since the epoch as
  numbers. ``status`` reads Conveyor's lower-case status as MLflow's upper-case one (``FINISHED``), and ``user_id``
  the ``mlflow.user`` tag.
* ``LIKE`` is case-sensitive and ``ILIKE`` is not, with ``%`` and ``_`` as wildcards, on every backend (SQLite's
  LIKE ignores case, so there it runs as GLOB).
* Keywords are case-insensitive; ``OR`` is refused (MLflow does not support it either).

Order by: ``["metrics.auc DESC", "attributes.start_time", "params.model ASC"]``; runs without the key come last in
either direction; ties are broken by start time (newest first) and run id, as MLflow does.

Every value reaches the database as a bound parameter (SQLAlchemy expressions, never formatted into SQL text); the
same clauses also evaluate on records in memory (the in-memory runs store). A malformed string raises
:class:`~conveyor.core.errors.BadInputError` naming the token and its position; the MLflow REST routes answer it as
``INVALID_PARAMETER_VALUE``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import Run
from conveyor.core.errors import BadInputError
from conveyor.store import schema as t

__all__ = ["Clause", "Filter", "OrderBy", "parse_filter", "parse_order_by"]

_ENTITIES = {"metrics": "metric", "metric": "metric", "params": "param", "param": "param", "parameters": "param",
             "tags": "tag",
             "tag": "tag", "attributes": "attribute", "attribute": "attribute", "attr": "attribute",
             "run": "attribute"}
_NUMERIC_OPS = ("=", "!=", ">", ">=", "<", "<=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_PRESENCE_OPS = ("IS NULL", "IS NOT NULL")
_STRING_ATTRIBUTES = {"run_id": "id", "run_name": "name", "run name": "name", "Run name": "name",
                      "Run Name": "name", "status": "status", "user_id": "user_id"}
_NUMERIC_ATTRIBUTES = {"start_time": "started_at", "created": "started_at", "Created": "started_at",
                       "end_time": "ended_at"}
USER_TAG = "mlflow.user"


def _bad(message: str, text: str, pos: int, *, field: str = "filter") -> BadInputError:
    return BadInputError(f"{message} at position {pos} of {text!r}.", field=field,
                         hint="Write clauses like metrics.auc > 0.8 AND params.model = 'rf' AND "
                              "attributes.status = 'FINISHED' (string values quoted, keys with spaces or dashes "
                              "in backticks).")


@dataclass(frozen=True)
class Clause:
    """One comparison: ``kind`` is metric, param, tag or attribute; ``key`` the metric/param/tag name or the MLflow
    attribute; ``value`` a float, a string, or a tuple of strings (IN)."""

    kind: str
    key: str
    op: str
    value: Any

    # evaluation on a record
    def matches(self, run: Run) -> bool:
        actual = _record_value(run, self.kind, self.key)
        if self.op in _PRESENCE_OPS:
            return (actual is None) == (self.op == "IS NULL")
        if actual is None:
            return False
        if self.op in ("IN", "NOT IN"):
            return (actual in self.value) == (self.op == "IN")
        if self.op in ("LIKE", "ILIKE"):
            return _like_regex(self.value, self.op == "ILIKE").fullmatch(actual) is not None
        return _compare(actual, self.op, self.value)

    # evaluation in SQL
    def where(self, dialect: str) -> sa.ColumnElement[bool]:
        if self.kind == "metric":
            m = t.latest_metrics
            return sa.exists().where(m.c.run_id == t.runs.c.id, m.c.key == self.key,
                                     _sql_op(m.c.value, self.op, self.value, dialect))
        if self.kind in ("param", "tag") or self.key == "user_id":
            table = t.run_params if self.kind == "param" else t.run_tags
            key = USER_TAG if self.key == "user_id" else self.key
            if self.op in _PRESENCE_OPS:
                present = sa.exists().where(table.c.run_id == t.runs.c.id, table.c.key == key)
                return ~present if self.op == "IS NULL" else present
            return sa.exists().where(table.c.run_id == t.runs.c.id, table.c.key == key,
                                     _sql_op(table.c.value, self.op, self.value, dialect))
        return _sql_op(_attribute_column(self.key), self.op, self.value, dialect)


@dataclass(frozen=True)
class Filter:
    """The clauses of a filter string, all of which must hold (an empty filter matches every run)."""

    clauses: tuple[Clause, ...] = ()

    def matches(self, run: Run) -> bool:
        return all(c.matches(run) for c in self.clauses)

    def where(self, dialect: str) -> sa.ColumnElement[bool]:
        return sa.and_(sa.true(), *(c.where(dialect) for c in self.clauses))


@dataclass(frozen=True)
class OrderBy:
    kind: str
    key: str
    ascending: bool = True


# records
def _record_value(run: Run, kind: str, key: str) -> Any:
    if kind == "metric":
        return run.metrics.get(key)
    if kind == "param":
        return run.params.get(key)
    if kind == "tag":
        return run.tags.get(key)
    if key == "user_id":
        return run.tags.get(USER_TAG)
    if key in _NUMERIC_ATTRIBUTES:
        seconds = getattr(run, _NUMERIC_ATTRIBUTES[key])
        return None if seconds is None else float(round(seconds * 1000))
    value = getattr(run, _STRING_ATTRIBUTES[key])
    return value.upper() if key == "status" else value


def _compare(actual: Any, op: str, value: Any) -> bool:
    if isinstance(actual, float) and math.isnan(actual):
        return False
    return {"=": actual == value, "!=": actual != value, ">": actual > value, ">=": actual >= value,
            "<": actual < value, "<=": actual <= value}[op]


def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


# SQL
def _attribute_column(key: str) -> sa.ColumnElement[Any]:
    if key in _NUMERIC_ATTRIBUTES:
        return sa.func.round(getattr(t.runs.c, _NUMERIC_ATTRIBUTES[key]) * 1000)
    column = getattr(t.runs.c, _STRING_ATTRIBUTES[key])
    return sa.func.upper(column) if key == "status" else column


def _glob_pattern(like: str) -> str:
    """A LIKE pattern as the equivalent (case-sensitive) GLOB pattern."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(ch, ch) for ch in like)


def _sql_op(column: sa.ColumnElement[Any], op: str, value: Any, dialect: str) -> sa.ColumnElement[bool]:
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    # PostgreSQL's LIKE treats a backslash as an escape; ESCAPE '' makes it a plain character, as it is elsewhere
    escape = "" if dialect == "postgresql" else None
    if op == "LIKE":
        return column.op("GLOB")(_glob_pattern(value)) if dialect == "sqlite" else column.like(value, escape=escape)
    if op == "ILIKE":
        return column.ilike(value, escape=escape)
    return {"=": column == value, "!=": column != value, ">": column > value, ">=": column >= value,
            "<": column < value, "<=": column <= value}[op]


def order_columns(order: Sequence[OrderBy]) -> tuple[list[sa.ColumnElement[Any]], list[Any]]:
    """ORDER BY expressions for ``order`` (keys missing last, then newest first, then run id) and the outer joins
    they need: ``(columns, joins)`` where each join is ``(alias, on-clause)``."""
    columns: list[sa.ColumnElement[Any]] = []
    joins: list[Any] = []
    for i, item in enumerate(order):
        if item.kind == "attribute" and item.key != "user_id":
            value: sa.ColumnElement[Any] = _attribute_column(item.key)
        else:
            table = {"metric": t.latest_metrics, "param": t.run_params}.get(item.kind, t.run_tags)
            alias = table.alias(f"order_{i}")
            key = USER_TAG if item.key == "user_id" else item.key
            joins.append((alias, sa.and_(alias.c.run_id == t.runs.c.id, alias.c.key == key)))
            value = alias.c.value
        columns += [value.is_(None), value.asc() if item.ascending else value.desc()]
    return [*columns, t.runs.c.started_at.desc(), t.runs.c.id.asc()], joins


def sort_records(runs: list[Run], order: Sequence[OrderBy]) -> list[Run]:
    """``runs`` in the order :func:`order_columns` gives in SQL."""
    ordered = sorted(runs, key=lambda r: r.id)
    ordered.sort(key=lambda r: r.started_at, reverse=True)
    for item in reversed(order):
        present = [r for r in ordered if _record_value(r, item.kind, item.key) is not None]
        missing = [r for r in ordered if _record_value(r, item.kind, item.key) is None]
        present.sort(key=lambda r: _record_value(r, item.kind, item.key), reverse=not item.ascending)
        ordered = present + missing
    return ordered


# parsing
_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z_]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_.:/+-]*[A-Za-z0-9_]")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?![\w.])")
_OPERATOR = re.compile(r"(!=|>=|<=|=|>|<|(?i:is\s+not\s+null|is\s+null|not\s+in|ilike|like|in)(?![\w]))")


class _Scanner:
    def __init__(self, text: str, field: str) -> None:
        self.text, self.pos, self.field = text, 0, field

    def skip_space(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.text)

    def token_here(self) -> str:
        rest = self.text[self.pos:]
        return rest.split()[0] if rest.split() else "<end>"

    def error(self, what: str) -> BadInputError:
        return _bad(f"Invalid {self.field}: {what}, found {self.token_here()!r}", self.text, self.pos,
                    field=self.field)

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip_space()
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(0)

    def quoted(self, quotes: str) -> str | None:
        """A string in one of ``quotes`` (a doubled quote inside stands for itself)."""
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] not in quotes:
            return None
        quote, start, out = self.text[self.pos], self.pos, []
        i = self.pos + 1
        while i < len(self.text):
            ch = self.text[i]
            if ch == quote:
                if self.text[i + 1 : i + 2] == quote:
                    out.append(quote)
                    i += 2
                    continue
                self.pos = i + 1
                return "".join(out)
            out.append(ch)
            i += 1
        self.pos = start
        raise self.error("unterminated string (close it with the quote it starts with)")

    def identifier(self) -> tuple[str, str, int]:
        """``(kind, key, position)`` of ``entity.key``."""
        self.skip_space()
        start = self.pos
        entity = self.match(_WORD)
        if entity is None or entity.lower() not in _ENTITIES or self.text[self.pos : self.pos + 1] != ".":
            self.pos = start
            raise self.error("expected an identifier like metrics.KEY, params.KEY, tags.KEY or attributes.NAME")
        self.pos += 1
        key = self.quoted("`\"") if self.text[self.pos : self.pos + 1] in ("`", '"') else None
        if key is None:
            found = _BARE_KEY.match(self.text, self.pos)
            if found is None:
                raise self.error(f"expected a key after {entity}.")
            key, self.pos = found.group(0), found.end()
        kind = _ENTITIES[entity.lower()]
        if kind == "attribute" and key not in _STRING_ATTRIBUTES and key not in _NUMERIC_ATTRIBUTES:
            self.pos = start
            raise self.error(f"unknown attribute {key!r} (known: "
                             f"{', '.join(sorted({**_STRING_ATTRIBUTES, **_NUMERIC_ATTRIBUTES}))})")
        return kind, key, start


def parse_filter(text: str | None) -> Filter:
    """The clauses of an MLflow filter string (empty or None: no clause)."""
    if not text or not text.strip():
        return Filter()
    s = _Scanner(text, "filter")
    clauses: list[Clause] = []
    while True:
        kind, key, _ = s.identifier()
        clauses.append(_clause(s, kind, key))
        if s.at_end():
            return Filter(tuple(clauses))
        word = s.match(_WORD)
        if word is None or word.upper() != "AND":
            if word is not None:
                s.pos -= len(word)
            if word is not None and word.upper() == "OR":
                raise s.error("OR is not supported (MLflow filters combine clauses with AND only)")
            raise s.error("expected AND between clauses")


def _clause(s: _Scanner, kind: str, key: str) -> Clause:
    s.skip_space()
    op_pos = s.pos
    op = s.match(_OPERATOR)
    if op is None:
        raise s.error("expected a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN)")
    op = " ".join(op.upper().split())
    numeric = kind == "metric" or (kind == "attribute" and key in _NUMERIC_ATTRIBUTES)
    allowed = _NUMERIC_OPS if numeric else _STRING_OPS + (("IN", "NOT IN") if kind == "attribute" else _PRESENCE_OPS)
    if op not in allowed:
        s.pos = op_pos
        raise s.error(f"comparator {op} is not valid for {kind} {key!r} (valid: {', '.join(allowed)})")
    s.skip_space()
    value_pos = s.pos
    if op in _PRESENCE_OPS:
        return Clause(kind, key, op, None)
    if op in ("IN", "NOT IN"):
        return Clause(kind, key, op, _string_list(s))
    if numeric:
        number = s.match(_NUMBER)
        if number is None:
            s.pos = value_pos
            raise s.error(f"expected a number for {kind} {key!r} (numbers are not quoted)")
        return Clause(kind, key, op, float(number))
    value = s.quoted("'\"")
    if value is None:
        raise s.error(f"expected a quoted string for {kind} {key!r} (e.g. '{key}-value')")
    return Clause(kind, key, op, value)


def _string_list(s: _Scanner) -> tuple[str, ...]:
    if s.match(re.compile(r"\(")) is None:
        raise s.error("expected '(' to start the IN list")
    values: list[str] = []
    while True:
        value = s.quoted("'\"")
        if value is None:
            raise s.error("expected a quoted string in the IN list")
        values.append(value)
        if s.match(re.compile(r"\)")) is not None:
            return tuple(values)
        if s.match(re.compile(",")) is None:
            raise s.error("expected ',' or ')' in the IN list")


def parse_order_by(items: Sequence[str] | None) -> list[OrderBy]:
    """MLflow ``order_by`` items (``"metrics.auc DESC"``, ``"attributes.start_time"``; ASC by default)."""
    order: list[OrderBy] = []
    for item in items or []:
        s = _Scanner(item, "order_by")
        kind, key, _ = s.identifier()
        direction = "ASC"
        if not s.at_end():
            word = s.match(_WORD)
            if word is None or word.upper() not in ("ASC", "DESC"):
                if word is not None:
                    s.pos -= len(word)
                raise s.error("expected ASC or DESC")
            direction = word.upper()
            if not s.at_end():
                raise s.error("expected the end of the order_by item")
        order.append(OrderBy(kind, key, direction == "ASC"))
    return order
