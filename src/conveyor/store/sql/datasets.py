"""The datasets role on SQL: table ``dataset_versions``, keyed (name, version)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import DatasetVersion
from conveyor.store import schema as t
from conveyor.store.datasets import LATEST, DatasetStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlDatasetStore"]


def _dataset(row: Any) -> DatasetVersion:
    return DatasetVersion(row.name, row.version, row.artifact, row.rows, row.columns, row.profile, row.source,
                          row.created_at, row.parents, row.meta)


class SqlDatasetStore(DatasetStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def add_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        table = t.dataset_versions
        row = dict(name=dv.name, version=dv.version, artifact=dv.artifact, rows=dv.rows, columns=dv.columns,
                   profile=dv.profile, source=dv.source, created_at=dv.created_at, parents=dv.parents, meta=dv.meta)
        with self.db.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports a skipped ON CONFLICT DO NOTHING as one row
            inserted = conn.execute(self.db.insert(table).values(row).on_conflict_do_nothing()
                                    .returning(table.c.version)).first()
            if inserted is not None:
                return dv, True
            existing = conn.execute(sa.select(table).where(table.c.name == dv.name,
                                                           table.c.version == dv.version)).one()
            return _dataset(existing), False

    def versions(self, name: str | None = None) -> list[DatasetVersion]:
        query = sa.select(t.dataset_versions).order_by(t.dataset_versions.c.created_at)
        if name is not None:
            query = query.where(t.dataset_versions.c.name == name)
        with self.db.engine.connect() as conn:
            return [_dataset(r) for r in conn.execute(query)]

    def _candidates(self, name: str, version: str) -> list[DatasetVersion]:
        # one indexed lookup, not every version's profile: ingest asks this for each new frame
        table = t.dataset_versions
        query = sa.select(table).where(table.c.name == name)
        if version in LATEST:
            query = query.order_by(table.c.created_at.desc()).limit(1)
        else:
            query = query.where(table.c.version.startswith(version, autoescape=True)).limit(2)
        with self.db.engine.connect() as conn:
            return [_dataset(r) for r in conn.execute(query)]

    def names(self) -> list[str]:
        with self.db.engine.connect() as conn:
            return sorted(conn.execute(sa.select(t.dataset_versions.c.name).distinct()).scalars())
