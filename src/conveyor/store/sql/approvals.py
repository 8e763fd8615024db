"""Approval requests on SQL: table ``approval_requests``. A decision is one conditional UPDATE (``WHERE status =
'pending'``) answered by RETURNING, so of two deciders exactly one wins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import ApprovalRequest
from conveyor.store import schema as t
from conveyor.store.approvals import ApprovalStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlApprovalStore"]


def _request(r: Any) -> ApprovalRequest:
    return ApprovalRequest(r.id, r.model, r.version, r.environment, r.requester, r.status, r.reason, r.details,
                           r.created_at, r.decided_by, r.decided_at, r.decision_reason)


class SqlApprovalStore(ApprovalStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def create(self, request: ApprovalRequest) -> ApprovalRequest:
        with self.db.engine.begin() as conn:
            conn.execute(t.approval_requests.insert().values(
                id=request.id, model=request.model, version=request.version, environment=request.environment,
                requester=request.requester, status=request.status, reason=request.reason, details=request.details,
                created_at=request.created_at, decided_by=request.decided_by, decided_at=request.decided_at,
                decision_reason=request.decision_reason))
        return request

    def get(self, request_id: str) -> ApprovalRequest | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.approval_requests).where(t.approval_requests.c.id == request_id)).first()
        return None if row is None else _request(row)

    def requests(self, status: str | None = None, model: str | None = None) -> list[ApprovalRequest]:
        c = t.approval_requests.c
        query = sa.select(t.approval_requests).order_by(c.created_at, c.id)
        if status is not None:
            query = query.where(c.status == status)
        if model is not None:
            query = query.where(c.model == model)
        with self.db.engine.connect() as conn:
            return [_request(r) for r in conn.execute(query)]

    def _decide(self, request_id: str, status: str, actor: str, reason: str, at: float) -> ApprovalRequest | None:
        c = t.approval_requests.c
        with self.db.engine.begin() as conn:
            won = conn.execute(t.approval_requests.update().where(c.id == request_id, c.status == "pending")
                               .values(status=status, decided_by=actor, decided_at=at, decision_reason=reason)
                               .returning(c.id)).first()
            if won is None:
                return None
            return _request(conn.execute(sa.select(t.approval_requests).where(c.id == request_id)).one())
