"""The monitoring role on SQL: ``reference_stats``, ``monitor_samples`` and ``alerts``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import Alert, Sample, now
from conveyor.store import schema as t
from conveyor.store.lookup import like_prefix
from conveyor.store.monitoring import MonitoringStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlMonitoringStore"]

_PREFIX_ROWS = 50  # alerts fetched for an id prefix; the exact one, if any, is among them


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {"id": alert.id, "rule": alert.rule, "subject": alert.subject, "signal": alert.signal,
            "value": alert.value, "threshold": alert.threshold, "message": alert.message,
            "fired_at": alert.fired_at, "last_seen_at": alert.last_seen_at, "count": alert.count,
            "status": alert.status, "acked_by": alert.acked_by, "acked_at": alert.acked_at,
            "notified": list(alert.notified), "notify_errors": dict(alert.notify_errors)}


def _alert(r: Any) -> Alert:
    return Alert(r.id, r.rule, r.subject, r.signal, r.value, r.threshold, r.message, r.fired_at, r.last_seen_at,
                 r.count, r.status, r.acked_by, r.acked_at, list(r.notified), dict(r.notify_errors or {}))


class SqlMonitoringStore(MonitoringStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def put_reference_stats(self, model: str, stats: dict[str, Any]) -> dict[str, Any]:
        r = t.reference_stats.c
        insert = self.db.insert(t.reference_stats).values(model=model, stats=stats, created_at=now())
        with self.db.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports a skipped ON CONFLICT DO NOTHING as one row
            written = conn.execute(insert.on_conflict_do_nothing(index_elements=["model"]).returning(r.stats)).first()
            if written is not None:
                return dict(written.stats)
            return dict(conn.execute(sa.select(r.stats).where(r.model == model)).scalar_one())

    def get_reference_stats(self, model: str) -> dict[str, Any] | None:
        r = t.reference_stats.c
        with self.db.engine.connect() as conn:
            found = conn.execute(sa.select(r.stats).where(r.model == model)).scalar()
        return None if found is None else dict(found)

    def _append_samples(self, samples: list[Sample]) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(t.monitor_samples.insert(), [{"subject": s.subject, "series": s.series,
                                                       "value": float(s.value), "at": s.at} for s in samples])

    def samples(self, subject: str | None = None, *, series: str | None = None, since: float | None = None,
                limit: int | None = None) -> list[Sample]:
        c = t.monitor_samples.c
        query = sa.select(t.monitor_samples).order_by(c.at.desc(), c.id.desc())
        if subject is not None:
            query = query.where(c.subject == subject)
        if series is not None:
            if series.endswith("*"):
                query = query.where(c.series.like(like_prefix(series[:-1]), escape="\\"))
            else:
                query = query.where(c.series == series)
        if since is not None:
            query = query.where(c.at >= since)
        if limit:
            query = query.limit(limit)
        with self.db.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [Sample(r.subject, r.series, r.value, r.at) for r in reversed(rows)]

    def add_alert(self, alert: Alert) -> Alert:
        with self.db.engine.begin() as conn:
            conn.execute(t.alerts.insert().values(**_alert_row(alert)))
        return replace(alert, notified=list(alert.notified), notify_errors=dict(alert.notify_errors))

    def _replace_alert(self, alert: Alert) -> bool:
        with self.db.engine.begin() as conn:
            found = conn.execute(t.alerts.update().where(t.alerts.c.id == alert.id).values(**_alert_row(alert))
                                 .returning(t.alerts.c.id)).first()
        return found is not None

    def _alerts_like(self, alert_id: str) -> list[Alert]:
        query = sa.select(t.alerts).where(t.alerts.c.id.like(like_prefix(alert_id), escape="\\"))
        with self.db.engine.connect() as conn:
            exact = conn.execute(sa.select(t.alerts).where(t.alerts.c.id == alert_id)).first()
            if exact is not None:
                return [_alert(exact)]
            return [_alert(r) for r in conn.execute(query.limit(_PREFIX_ROWS))]

    def alerts(self, subject: str | None = None, *, status: str | None = None,
               limit: int | None = None) -> list[Alert]:
        query = sa.select(t.alerts).order_by(t.alerts.c.fired_at.desc())
        if subject is not None:
            query = query.where(t.alerts.c.subject == subject)
        if status is not None:
            query = query.where(t.alerts.c.status == status)
        if limit:
            query = query.limit(limit)
        with self.db.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(query)]
