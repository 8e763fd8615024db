"""``search_runs``: MLflow's run search over Conveyor's runs store (what ``POST runs/search`` answers with).

On a SQL runs store (SQLite, PostgreSQL) the filter, the order and the page run in one query with bound parameters;
on any other store (the in-memory one) the same clauses evaluate on the records. ``experiment_ids`` are the experiments'
ids (the runs' ``experiment`` attribute). Page tokens are opaque (base64 JSON holding the offset), like MLflow's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import Run
from conveyor.core.errors import BadInputError
from conveyor.interop.mlflow.filters import Filter, OrderBy, order_columns, parse_filter, parse_order_by, sort_records
from conveyor.store import Stores
from conveyor.store import schema as t
from conveyor.store.sql.runs import SqlRunStore

__all__ = ["MAX_RESULTS", "search_runs"]

MAX_RESULTS = 50000


def _stores(stores_or_project: Any) -> Stores:
    return stores_or_project if isinstance(stores_or_project, Stores) else stores_or_project.stores


def _offset(page_token: str | None) -> int:
    if not page_token:
        return 0
    try:
        offset = json.loads(base64.b64decode(page_token.encode(), validate=True))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise BadInputError(f"Invalid page token {page_token!r}.", field="page_token",
                            hint="Pass the next_page_token of the previous answer unchanged.")
    return offset


def _token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def search_runs(stores_or_project: Any, experiment_ids: Sequence[str] | None, filter_string: str | None = None,
                order_by: Sequence[str] | None = None, max_results: int = 1000,
                page_token: str | None = None, *, also: Sequence[Any] = ()) -> tuple[list[Run], str | None]:
    """The runs of ``experiment_ids`` (None or empty: every run) that match ``filter_string``, ordered by
    ``order_by`` (default newest first), one page of at most ``max_results``: ``(runs, next_page_token)``, the token
    None on the last page. ``also``: more clauses that must hold (objects with ``matches(run)`` and
    ``where(dialect)``, like :class:`~conveyor.interop.mlflow.filters.Clause`), for a caller's own conditions."""
    if not 0 < max_results <= MAX_RESULTS:
        raise BadInputError(f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}.",
                            field="max_results")
    where, order, offset = parse_filter(filter_string), parse_order_by(order_by), _offset(page_token)
    where = Filter((*where.clauses, *also)) if also else where
    runs_store = _stores(stores_or_project).runs
    experiments = [str(e) for e in experiment_ids or []]
    if isinstance(runs_store, SqlRunStore):
        page = _sql_page(runs_store, experiments, where, order, offset, max_results + 1)
    else:
        matched = [r for r in runs_store.search()
                   if (not experiments or r.experiment in experiments) and where.matches(r)]
        page = sort_records(matched, order)[offset : offset + max_results + 1]
    more = len(page) > max_results
    return page[:max_results], (_token(offset + max_results) if more else None)


def _sql_page(store: SqlRunStore, experiments: list[str], where: Filter, order: list[OrderBy], offset: int,
              limit: int) -> list[Run]:
    columns, joins = order_columns(order)
    source: sa.FromClause = t.runs
    for alias, on in joins:
        source = source.outerjoin(alias, on)
    query = sa.select(t.runs).select_from(source).where(where.where(store.db.dialect))
    if experiments:
        query = query.where(t.runs.c.experiment.in_(experiments))
    query = query.order_by(*columns).offset(offset).limit(limit)
    with store.db.engine.connect() as conn:
        return store._runs_from_rows(conn, list(conn.execute(query)))
