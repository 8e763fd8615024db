"""The runs role on SQL: ``runs`` with ``run_params``, ``run_tags``, ``run_artifacts``, ``metric_history`` and
``latest_metrics`` (the latest value per key, kept by a conditional upsert so reading a run never scans history)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import Metric, Run
from conveyor.store import schema as t
from conveyor.store.runs import MIN_PREFIX, RunField, RunStore
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlRunStore"]

# field -> (table, key column, value column)
_FIELDS: dict[str, tuple[sa.Table, str, str]] = {
    "params": (t.run_params, "key", "value"),
    "tags": (t.run_tags, "key", "value"),
    "artifacts": (t.run_artifacts, "name", "digest"),
}
_CHUNK = 500


class SqlRunStore(RunStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url
        self._known: set[str] = set()  # runs are never deleted: one lookup per id per process is enough

    def _insert(self, run: Run) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(t.runs.insert().values(id=run.id, name=run.name, status=run.status,
                                                started_at=run.started_at, ended_at=run.ended_at,
                                                dataset=run.dataset))
            for field in ("params", "tags"):
                self._merge_rows(conn, run.id, field, getattr(run, field))
        self._known.add(run.id)

    def _ids_like(self, run_id: str) -> list[str]:
        if run_id in self._known:
            return [run_id]
        with self.db.engine.connect() as conn:
            found: str | None = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).scalar()
            if found is not None:
                self._known.add(found)
                return [found]
            if len(run_id) < MIN_PREFIX:
                return []
            return list(conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id.startswith(run_id, autoescape=True))
                                     .limit(2)).scalars())

    def _set_status(self, run_id: str, status: str, ended_at: float) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(status=status, ended_at=ended_at))

    def _merge(self, run_id: str, field: RunField, values: dict[str, str]) -> None:
        with self.db.engine.begin() as conn:
            self._merge_rows(conn, run_id, field, values)

    def _merge_rows(self, conn: sa.Connection, run_id: str, field: str, values: dict[str, str]) -> None:
        table, key, value = _FIELDS[field]
        self.db.upsert(conn, table, [{"run_id": run_id, key: k, value: v} for k, v in values.items()],
                       ["run_id", key])

    def _write_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        rows: list[dict[str, Any]] = [{"run_id": run_id, "key": m.key, "value": float(m.value), "step": int(m.step),
                 "timestamp": m.timestamp} for m in metrics]
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:  # the highest step wins; among equal steps, the last logged
            if row["key"] not in latest or row["step"] >= latest[row["key"]]["step"]:
                latest[row["key"]] = {"run_id": run_id, "key": row["key"], "value": row["value"], "step": row["step"]}
        with self.db.engine.begin() as conn:
            conn.execute(t.metric_history.insert(), rows)
            conn.execute(self._latest_upsert, list(latest.values()))

    @functools.cached_property
    def _latest_upsert(self) -> sa.Executable:
        insert = self.db.insert(t.latest_metrics)
        return insert.on_conflict_do_update(index_elements=["run_id", "key"],
                                            set_={"value": insert.excluded.value, "step": insert.excluded.step},
                                            where=insert.excluded.step >= t.latest_metrics.c.step)

    def _runs_from_rows(self, conn: sa.Connection, rows: list[Any]) -> list[Run]:
        runs = {r.id: Run(r.id, r.name, r.status, r.started_at, r.ended_at, r.dataset) for r in rows}
        ids = list(runs)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for p in conn.execute(sa.select(t.run_params).where(t.run_params.c.run_id.in_(chunk))):
                runs[p.run_id].params[p.key] = p.value
            for g in conn.execute(sa.select(t.run_tags).where(t.run_tags.c.run_id.in_(chunk))):
                runs[g.run_id].tags[g.key] = g.value
            for m in conn.execute(sa.select(t.latest_metrics).where(t.latest_metrics.c.run_id.in_(chunk))):
                runs[m.run_id].metrics[m.key] = m.value
            for a in conn.execute(sa.select(t.run_artifacts).where(t.run_artifacts.c.run_id.in_(chunk))):
                runs[a.run_id].artifacts[a.name] = a.digest
        return [runs[r.id] for r in rows]

    def _load(self, run_id: str) -> Run:
        with self.db.engine.connect() as conn:
            rows = list(conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)))
            return self._runs_from_rows(conn, rows)[0]

    def _history(self, run_id: str, key: str) -> list[Metric]:
        h = t.metric_history
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(h).where(h.c.run_id == run_id, h.c.key == key).order_by(h.c.id))
            return [Metric(r.key, r.value, r.step, r.timestamp) for r in rows]

    def search(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset_name: str | None = None,
               limit: int | None = None, offset: int = 0) -> list[Run]:
        query = sa.select(t.runs)
        if dataset_name is not None:
            query = query.where(sa.or_(t.runs.c.dataset == dataset_name,
                                       t.runs.c.dataset.startswith(dataset_name + "@", autoescape=True)))
        if order_by_metric:
            metric = t.latest_metrics
            query = query.outerjoin(metric, sa.and_(metric.c.run_id == t.runs.c.id, metric.c.key == order_by_metric))
            value_order = metric.c.value.asc() if ascending else metric.c.value.desc()
            query = query.order_by(metric.c.value.is_(None), value_order, t.runs.c.started_at.desc())
        else:
            query = query.order_by(t.runs.c.started_at.desc())
        if offset:
            query = query.offset(offset)
        if limit:
            query = query.limit(limit)
        with self.db.engine.connect() as conn:
            return self._runs_from_rows(conn, list(conn.execute(query)))
