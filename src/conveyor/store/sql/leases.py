"""Job leases on SQL: table ``agent_jobs``. Claims are one INSERT ... ON CONFLICT DO NOTHING or one conditional
UPDATE, each answered by RETURNING, so of several processes claiming a job exactly one wins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import AgentJob
from conveyor.store import schema as t
from conveyor.store.leases import LeaseStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlLeaseStore"]


def _job(r: Any) -> AgentJob:
    return AgentJob(r.key, r.status, r.holder, r.heartbeat_at, r.attempts, r.result, r.created_at)


class SqlLeaseStore(LeaseStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def _claim(self, key: str, holder: str, lease_seconds: float, at: float) -> AgentJob | None:
        c = t.agent_jobs.c
        insert = self.db.insert(t.agent_jobs).values(key=key, status="running", holder=holder, heartbeat_at=at,
                                                     attempts=1, result={}, created_at=at)
        with self.db.engine.begin() as conn:
            # RETURNING, not rowcount: psycopg reports a skipped ON CONFLICT DO NOTHING as one row
            taken = conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]).returning(c.key)).first()
            if taken is None:  # one conditional UPDATE: of two agents taking over a stale job, one wins
                taken = conn.execute(t.agent_jobs.update()
                                     .where(c.key == key, c.status == "running", c.heartbeat_at < at - lease_seconds)
                                     .values(holder=holder, heartbeat_at=at, attempts=c.attempts + 1)
                                     .returning(c.key)).first()
            if taken is None:
                return None
            return _job(conn.execute(sa.select(t.agent_jobs).where(c.key == key)).one())

    def _update(self, key: str, status: str | None, result: dict[str, Any] | None, holder: str | None,
                at: float) -> bool:
        c = t.agent_jobs.c
        values: dict[str, Any] = {"heartbeat_at": at}
        if status is not None:
            values["status"] = status
        if result is not None:
            values["result"] = result
        query = t.agent_jobs.update().where(c.key == key)
        if holder is not None:
            query = query.where(c.holder == holder)
        with self.db.engine.begin() as conn:
            return conn.execute(query.values(**values).returning(c.key)).first() is not None

    def get(self, key: str) -> AgentJob | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.agent_jobs).where(t.agent_jobs.c.key == key)).first()
        return None if row is None else _job(row)

    def jobs(self, status: str | None = None) -> list[AgentJob]:
        query = sa.select(t.agent_jobs).order_by(t.agent_jobs.c.created_at, t.agent_jobs.c.key)
        if status is not None:
            query = query.where(t.agent_jobs.c.status == status)
        with self.db.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]
