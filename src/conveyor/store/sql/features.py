"""Feature view versions on SQL: table ``feature_view_versions`` (migration 0010), one row per applied version in
order of ``seq``. Each row names the view's row before it (``previous``), unique per view, so of two processes
appending after the same row one insert fails; it then reads the winner and tries again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.store import schema as t
from conveyor.store.features import FeatureViewStore, FeatureViewVersion
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlFeatureViewStore"]


def _version(r: Any) -> FeatureViewVersion:
    return FeatureViewVersion(r.view, r.version, r.definition_hash, r.source, r.definition, r.origin, r.applied_at,
                              list(r.materialized))


class SqlFeatureViewStore(FeatureViewStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def _latest_row(self, conn: sa.Connection, view: str, version: str | None = None) -> Any:
        c = t.feature_view_versions.c
        query = sa.select(t.feature_view_versions).where(c.view == view)
        if version is not None:
            query = query.where(c.version == version)
        return conn.execute(query.order_by(c.seq.desc()).limit(1)).first()

    def add(self, version: FeatureViewVersion) -> tuple[FeatureViewVersion, bool]:
        for _ in range(100):
            try:
                with self.db.engine.begin() as conn:
                    latest = self._latest_row(conn, version.view)
                    if latest is not None and latest.version == version.version:
                        return _version(latest), False
                    conn.execute(t.feature_view_versions.insert().values(
                        view=version.view, version=version.version, definition_hash=version.definition_hash,
                        source=version.source, definition=version.definition, origin=version.origin,
                        applied_at=version.applied_at, materialized=list(version.materialized),
                        previous=0 if latest is None else latest.seq))
                return version, True
            except sa.exc.IntegrityError:  # another writer appended after the same row first: read it again
                continue
        raise RuntimeError(f"could not append a version of feature view {version.view!r}")  # pragma: no cover

    def versions(self, view: str | None = None) -> list[FeatureViewVersion]:
        c = t.feature_view_versions.c
        query = sa.select(t.feature_view_versions).order_by(c.seq)
        if view is not None:
            query = query.where(c.view == view)
        with self.db.engine.connect() as conn:
            return [_version(r) for r in conn.execute(query)]

    def note_materialized(self, view: str, version: str, note: dict[str, Any]) -> bool:
        c = t.feature_view_versions.c
        with self.db.engine.begin() as conn:
            row = self._latest_row(conn, view, version)
            if row is None:
                return False
            conn.execute(t.feature_view_versions.update().where(c.seq == row.seq)
                         .values(materialized=[*row.materialized, note]))
        return True
