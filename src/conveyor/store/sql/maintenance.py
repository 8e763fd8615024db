"""Deletes and rewrites the roles never do: what `conveyor gc` and `conveyor data forget` need of a SQL store.

The roles' contracts keep records immutable; retention and erasure are the two exceptions, and both go through
here, so the places that delete are few and easy to audit. Only the SQL backends have them (an in-memory store
lives as long as its process).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from conveyor.core.errors import BadInputError
from conveyor.store import schema as t
from conveyor.store.predictions import PredictionStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlMaintenance", "maintenance_of"]

_HEX64 = re.compile(rb"[0-9a-f]{64}")
_RUN_CHILDREN = (t.metric_history, t.latest_metrics, t.run_params, t.run_tags, t.run_artifacts)
# Tables that never name an artifact (numbers, the trail's history, token hashes) and can be large: not scanned.
_NO_DIGESTS = frozenset({"alembic_version", "audit", "metric_history", "latest_metrics", "monitor_samples",
                         "alias_history", "predictions", "api_tokens"})
_MANAGED = frozenset({"dataset_versions", "model_versions", "runs", "run_params", "run_tags", "run_artifacts",
                      "aliases", "reference_stats"})


def maintenance_of(store: Any, what: str) -> SqlMaintenance:
    """The maintenance view of the database a role ``store`` lives in; a clear error for a store without one. A
    prediction log with pending segments is drained first, so retention and erasure see every logged row."""
    if isinstance(store, PredictionStore):
        store.drain()
    db = getattr(store, "db", None)
    if not isinstance(db, SqlDatabase):
        raise BadInputError(f"{what} needs a SQL metadata store (SQLite or PostgreSQL), not {store.url!r}.",
                            field="CONVEYOR_DB_URL")
    return SqlMaintenance(db)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SqlMaintenance:
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db

    @property
    def engine(self) -> sa.Engine:
        return self.db.engine

    def rows(self, table: sa.Table, keys: Sequence[str], values: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """The rows of ``table`` whose ``keys`` equal one of ``values`` (for the archive)."""
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(list(values)):
                condition = sa.or_(*(sa.and_(*(table.c[k] == v for k, v in zip(keys, value, strict=True)))
                                     for value in chunk))
                found += [dict(r._mapping) for r in conn.execute(sa.select(table).where(condition))]
        return found

    def delete_dataset_versions(self, keys: Sequence[tuple[str, str]]) -> int:
        table = t.dataset_versions
        with self.engine.begin() as conn:
            return sum(_deleted(conn, table.delete().where(table.c.name == name, table.c.version == version),
                                table.c.name) for name, version in keys)

    def delete_model_versions(self, keys: Sequence[tuple[str, int]]) -> int:
        table = t.model_versions
        with self.engine.begin() as conn:
            return sum(_deleted(conn, table.delete().where(table.c.name == name, table.c.version == version),
                                table.c.name) for name, version in keys)

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        deleted = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(run_ids)):
                for child in _RUN_CHILDREN:
                    conn.execute(child.delete().where(child.c.run_id.in_(chunk)))
                deleted += _deleted(conn, t.runs.delete().where(t.runs.c.id.in_(chunk)), t.runs.c.id)
        return deleted

    def old_predictions(self, before: float) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t.predictions)
                                                           .where(t.predictions.c.at < before))]

    def count_predictions_before(self, before: float) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.predictions)
                                    .where(t.predictions.c.at < before)).scalar() or 0)

    def delete_predictions_before(self, before: float) -> int:
        with self.engine.begin() as conn:
            return _deleted(conn, t.predictions.delete().where(t.predictions.c.at < before), t.predictions.c.id)

    def delete_predictions(self, ids: Sequence[str]) -> int:
        deleted = 0
        with self.engine.begin() as conn:
            for chunk in _chunks(list(ids)):
                deleted += _deleted(conn, t.predictions.delete().where(t.predictions.c.id.in_(chunk)),
                                    t.predictions.c.id)
        return deleted

    def predictions_of(self, model_names: Iterable[str]) -> list[dict[str, Any]]:
        names = sorted(set(model_names))
        if not names:
            return []
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(t.predictions)
                                                           .where(t.predictions.c.model_name.in_(names)))]

    def rewrite_dataset_version(self, name: str, version: str, *, profile: dict[str, Any],
                                meta: dict[str, Any]) -> None:
        """Replace a version's profile and meta (erasure: its statistics may hold the erased values)."""
        table = t.dataset_versions
        with self.engine.begin() as conn:
            conn.execute(table.update().where(table.c.name == name, table.c.version == version)
                         .values(profile=profile, meta=meta))

    def delete_reference_stats(self, models: Iterable[str]) -> int:
        """Drop the monitoring reference of these models (``NAME:N``): it summarises their training data."""
        deleted = 0
        with self.engine.begin() as conn:
            for model in models:
                deleted += _deleted(conn, t.reference_stats.delete().where(t.reference_stats.c.model == model),
                                    t.reference_stats.c.model)
        return deleted

    def named_elsewhere(self) -> set[str]:
        """The 64-hex strings held by tables other than the records retention manages (pipeline steps, feature
        views, approvals, a plug-in's tables): a dataset version named there is kept."""
        return self.referenced_digests(skip=_MANAGED)

    def referenced_digests(self, skip: frozenset[str] = frozenset()) -> set[str]:
        """Every 64-hex string any row of any table holds: a superset of the artifact digests in use (dataset,
        model and run artifacts, and digests kept in JSON metadata), so gc never removes what something names. The audit
        trail is not scanned (it names the artifacts of versions long deleted), nor the tables of numbers."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                if table in _NO_DIGESTS or table in skip:
                    continue
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    text = repr(tuple(row)).encode()
                    found.update(m.decode() for m in _HEX64.findall(text))
        return found

    def compact(self) -> None:
        """Make deleted rows unreadable on disk: SQLite rewrites the file (VACUUM) and empties its write-ahead
        log; PostgreSQL rewrites the tables erasure touches (VACUUM FULL)."""
        if self.db.dialect == "sqlite":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
                conn.exec_driver_sql("VACUUM")
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("dataset_versions", "predictions", "reference_stats", "runs", "model_versions"):
                conn.exec_driver_sql(f"VACUUM FULL {table}")


def _deleted(conn: sa.Connection, statement: sa.Delete, key: sa.ColumnElement[Any]) -> int:
    """The rows ``statement`` deleted, counted from RETURNING (never ``rowcount``: see the store's contract)."""
    return len(conn.execute(statement.returning(key)).all())
