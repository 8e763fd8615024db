"""The runs role on SQL: ``runs`` with ``run_params``, ``run_tags``, ``run_artifacts``, ``metric_history`` and
``latest_metrics`` (the latest value per key, kept by a conditional upsert so reading a run never scans history)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import Experiment, Metric, Run
from conveyor.core.errors import ConflictError
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


SERIES = sa.text("""
SELECT step, value, timestamp FROM (
  SELECT step, value, timestamp, i, n, ROW_NUMBER() OVER by_value AS rank, COUNT(*) OVER (PARTITION BY b) AS size
  FROM (
    SELECT step, value, timestamp, i, n, (i * CAST(:buckets AS BIGINT)) / n AS b FROM (
      SELECT step, value, timestamp, ROW_NUMBER() OVER (ORDER BY id) - 1 AS i, COUNT(*) OVER () AS n
      FROM metric_history WHERE run_id = :run AND key = :key
    ) AS numbered
  ) AS bucketed
  WINDOW by_value AS (PARTITION BY b ORDER BY value, i)
) AS ranked
WHERE n <= :points OR i = 0 OR i = n - 1 OR rank = 1 OR rank = size
ORDER BY i
""")  # b: the stretch row i falls in (integer division on SQLite and PostgreSQL); rank 1 its lowest, size its highest


class SqlRunStore(RunStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url
        self._known: set[str] = set()  # runs are never deleted: one lookup per id per process is enough

    def _insert(self, run: Run) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(t.runs.insert().values(id=run.id, name=run.name, status=run.status,
                                                started_at=run.started_at, ended_at=run.ended_at,
                                                dataset=run.dataset, experiment=run.experiment))
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
        runs = {r.id: Run(r.id, r.name, r.status, r.started_at, r.ended_at, r.dataset, experiment=r.experiment)
                for r in rows}
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
        """One run in two statements: its row, then its params, tags, artifacts and latest metrics together."""
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.id == run_id)).one()
            run = Run(row.id, row.name, row.status, row.started_at, row.ended_at, row.dataset,
                      experiment=row.experiment)
            fields = {"p": run.params, "g": run.tags, "a": run.artifacts}
            for kind, key, text, number in conn.execute(self._one_run, {"run_id": run_id}):
                if kind == "m":
                    run.metrics[key] = number
                else:
                    fields[kind][key] = text
            return run

    @functools.cached_property
    def _one_run(self) -> sa.Executable:
        run_id: sa.BindParameter[str] = sa.bindparam("run_id", type_=sa.String)
        no_text, no_number = sa.cast(sa.null(), sa.Text), sa.cast(sa.null(), sa.Float)

        def part(kind: str, table: sa.Table, key: str, text: Any, number: Any) -> sa.Select[Any]:
            return (sa.select(sa.literal_column(f"'{kind}'").label("kind"), table.c[key].label("key"),
                              sa.cast(text, sa.Text).label("text"), number.label("number"))
                    .where(table.c.run_id == run_id))

        return sa.union_all(part("p", t.run_params, "key", t.run_params.c.value, no_number),
                            part("g", t.run_tags, "key", t.run_tags.c.value, no_number),
                            part("a", t.run_artifacts, "name", t.run_artifacts.c.digest, no_number),
                            part("m", t.latest_metrics, "key", no_text, t.latest_metrics.c.value))

    def params_of(self, run_id: str) -> dict[str, str]:
        rid = self.resolve_id(run_id)
        with self.db.engine.connect() as conn:
            return {r.key: r.value for r in conn.execute(sa.select(t.run_params).where(t.run_params.c.run_id == rid))}

    def _history(self, run_id: str, key: str, offset: int, limit: int | None) -> list[Metric]:
        h = t.metric_history
        query = sa.select(h).where(h.c.run_id == run_id, h.c.key == key).order_by(h.c.id).offset(offset or None)
        with self.db.engine.connect() as conn:
            rows = conn.execute(query.limit(limit) if limit is not None else query)
            return [Metric(r.key, r.value, r.step, r.timestamp) for r in rows]

    def _series(self, run_id: str, key: str, points: int) -> list[Metric]:
        # window functions number the history in logging order and rank each run of consecutive rows (bucket b) by
        # value: only the picked rows (at most ``points``) leave the database, however long the history is
        with self.db.engine.connect() as conn:
            rows = conn.execute(SERIES, {"run": run_id, "key": key, "points": points,
                                         "buckets": (points - 2) // 2})
            return [Metric(key, r.value, r.step, r.timestamp) for r in rows]

    def search(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset_name: str | None = None,
               limit: int | None = None, offset: int = 0, experiment: str | None = None) -> list[Run]:
        query = sa.select(t.runs)
        if experiment is not None:
            query = query.where(t.runs.c.experiment == experiment)
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

    def _insert_experiment(self, name: str, artifact_location: str, tags: dict[str, str],
                           experiment_id: str | None) -> Experiment:
        e = t.experiments
        for _attempt in range(3):  # two creators may pick the same next id: the loser picks again
            with self.db.engine.begin() as conn:
                next_id = int(experiment_id) if experiment_id is not None else (
                    conn.execute(sa.select(sa.func.max(e.c.id))).scalar() or 0) + 1
                try:
                    with conn.begin_nested():
                        created = Experiment(str(next_id), name, artifact_location, tags=tags)
                        conn.execute(e.insert().values(id=next_id, name=name, artifact_location=artifact_location,
                                                       lifecycle=created.lifecycle, created_at=created.created_at,
                                                       tags=tags))
                    return created
                except sa.exc.IntegrityError:
                    if experiment_id is not None or self.experiment_by_name(name) is not None:
                        raise ConflictError(f"Experiment {name!r} (or id {experiment_id}) already exists.",
                                            field="name") from None
        raise ConflictError(f"Could not pick an id for experiment {name!r}; try again.", field="name")

    @staticmethod
    def _experiment(row: Any) -> Experiment:
        return Experiment(str(row.id), row.name, row.artifact_location, row.lifecycle, row.created_at,
                          dict(row.tags or {}))

    def _load_experiment(self, experiment_id: str) -> Experiment | None:
        if not experiment_id.isdigit():
            return None
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.id == int(experiment_id))).first()
        return self._experiment(row) if row else None

    def _merge_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None:
        e = t.experiments
        with self.db.engine.begin() as conn:
            current = conn.execute(sa.select(e.c.tags).where(e.c.id == int(experiment_id))).scalar() or {}
            conn.execute(e.update().where(e.c.id == int(experiment_id)).values(tags={**current, **tags}))

    def _update_experiment(self, experiment_id: str, name: str | None, lifecycle: str | None,
                           untag: tuple[str, ...]) -> None:
        e = t.experiments
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if lifecycle is not None:
            values["lifecycle"] = lifecycle
        try:
            with self.db.engine.begin() as conn:
                if untag:
                    current = conn.execute(sa.select(e.c.tags).where(e.c.id == int(experiment_id))).scalar() or {}
                    values["tags"] = {k: v for k, v in current.items() if k not in untag}
                if values:
                    conn.execute(e.update().where(e.c.id == int(experiment_id)).values(**values))
        except sa.exc.IntegrityError:
            raise ConflictError(f"Experiment {name!r} already exists.", field="name") from None

    def experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.experiments).where(t.experiments.c.name == name)).first()
        return self._experiment(row) if row else None

    def experiments(self) -> list[Experiment]:
        with self.db.engine.connect() as conn:
            return [self._experiment(r) for r in conn.execute(sa.select(t.experiments).order_by(t.experiments.c.id))]
