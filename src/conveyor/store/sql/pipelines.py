"""Pipeline runs and steps on SQL: tables ``pipeline_runs`` and ``pipeline_steps`` (one upsert per step record)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from conveyor.store import schema as t
from conveyor.store.pipelines import PipelineRun, PipelineStore, StepRecord
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlPipelineStore"]


def _run(r: Any) -> PipelineRun:
    return PipelineRun(r.id, r.pipeline, r.status, r.trigger, r.params, r.dag, r.started_at, r.ended_at, r.error,
                       r.outputs)


def _step(r: Any) -> StepRecord:
    return StepRecord(r.run_id, r.step, r.status, r.cache_key, bool(r.cached), r.attempts, r.started_at, r.ended_at,
                      r.inputs, r.outputs, r.error, r.pipeline, r.position)


class SqlPipelineStore(PipelineStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def add_run(self, run: PipelineRun) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(t.pipeline_runs.insert().values(
                id=run.id, pipeline=run.pipeline, status=run.status, trigger=run.trigger, params=run.params,
                dag=run.dag, started_at=run.started_at, ended_at=run.ended_at, error=run.error, outputs=run.outputs))

    def _update_run(self, run_id: str, fields: dict[str, Any]) -> None:
        if fields:
            with self.db.engine.begin() as conn:
                conn.execute(t.pipeline_runs.update().where(t.pipeline_runs.c.id == run_id).values(**fields))

    def get_run(self, run_id: str) -> PipelineRun | None:
        if not run_id:
            return None
        c = t.pipeline_runs.c
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.pipeline_runs).where(c.id == run_id)).first()
            if row is None:
                rows = conn.execute(sa.select(t.pipeline_runs).where(c.id.startswith(run_id, autoescape=True))
                                    .limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
        return None if row is None else _run(row)

    def runs(self, pipeline: str | None = None, status: str | None = None,
             limit: int | None = None) -> list[PipelineRun]:
        c = t.pipeline_runs.c
        query = sa.select(t.pipeline_runs).order_by(c.started_at.desc(), c.id.desc())
        if pipeline is not None:
            query = query.where(c.pipeline == pipeline)
        if status is not None:
            query = query.where(c.status == status)
        if limit is not None:
            query = query.limit(limit)
        with self.db.engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]

    def put_step(self, record: StepRecord) -> None:
        c = t.pipeline_steps.c

        def work(conn: sa.Connection) -> None:
            pipeline = conn.execute(sa.select(t.pipeline_runs.c.pipeline)
                                    .where(t.pipeline_runs.c.id == record.run_id)).scalar() or record.pipeline
            position = conn.execute(sa.select(c.position).where(c.run_id == record.run_id,
                                                                c.step == record.step)).scalar()
            if position is None:
                position = (conn.execute(sa.select(sa.func.count()).select_from(t.pipeline_steps)
                                         .where(c.run_id == record.run_id)).scalar() or 0) + 1
            row = {"run_id": record.run_id, "step": record.step, "pipeline": pipeline, "position": position,
                   "status": record.status, "cache_key": record.cache_key, "cached": record.cached,
                   "attempts": record.attempts, "started_at": record.started_at, "ended_at": record.ended_at,
                   "inputs": record.inputs, "outputs": record.outputs, "error": record.error}
            self.db.upsert(conn, t.pipeline_steps, [row], ("run_id", "step"))

        self.db.retrying(f"record step {record.step!r} of pipeline run {record.run_id}", work)

    def steps(self, run_id: str) -> list[StepRecord]:
        c = t.pipeline_steps.c
        with self.db.engine.connect() as conn:
            return [_step(r) for r in conn.execute(sa.select(t.pipeline_steps).where(c.run_id == run_id)
                                                   .order_by(c.position, c.step))]

    def find_cached(self, pipeline: str, step: str, cache_key: str) -> StepRecord | None:
        c = t.pipeline_steps.c
        query = (sa.select(t.pipeline_steps)
                 .where(c.pipeline == pipeline, c.step == step, c.cache_key == cache_key, c.status == "succeeded")
                 .order_by(c.ended_at.desc()).limit(1))
        with self.db.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _step(row)
