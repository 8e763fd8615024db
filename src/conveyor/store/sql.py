"""The SQL metadata store: SQLite (WAL) by default, PostgreSQL through the same SQLAlchemy Core code."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.core.entities import (
    AgentJob,
    Alert,
    AliasChange,
    AuditEntry,
    DatasetVersion,
    Metric,
    ModelVersion,
    PredictionRecord,
    Run,
    Sample,
    now,
)
from conveyor.core.errors import NotFoundError, StoreError
from conveyor.store import schema as t
from conveyor.store.audit import GENESIS, chain_hash
from conveyor.store.metadata import MetadataStore, _one_alert
from conveyor.store.migrate import upgrade


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer, and a commit costs an append instead of a journal rewrite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _strict_json(value: Any) -> str:
    """NaN and infinity have no JSON form: PostgreSQL refuses them and SQLite would store text no parser reads
    back as a number, so both backends refuse them here, alike."""
    return json.dumps(value, allow_nan=False)


def create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  json_serializer=_strict_json)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=_strict_json)


# --- serve ---
class _EncodedJSON(sa.types.TypeDecorator):
    """A JSON column whose values arrive already encoded, so SQLAlchemy does not encode them again."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


_PREDICTION_ROWS = sa.table("predictions", *(
    sa.column(c.name, _EncodedJSON() if isinstance(c.type, sa.JSON) else c.type) for c in t.predictions.columns))


def _encode(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # what orjson does not know (e.g. integers beyond 64 bits): the standard library's way
        return _strict_json(value)


class SqlMetadataStore(MetadataStore):
    _RETRIES = 20

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url)
            upgrade(self.engine)
        except ModuleNotFoundError as exc:
            raise StoreError(f"No database driver for {url.split(':', 1)[0]!r} ({exc.name} is missing).",
                             hint="For PostgreSQL install the extra: pip install 'conveyor-mlops[postgres]'.") from None
        except sa.exc.OperationalError as exc:
            raise StoreError(f"Cannot open the metadata store at {self._safe_url()}: {exc.orig}",
                             hint="Check CONVEYOR_DB_URL and that the database server is running.") from None
        self._known_runs: set[str] = set()
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def _safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def _upsert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
        if rows:
            conn.execute(self._upsert_statement(table, tuple(keys)), rows)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a handful of statements, alive as long as the store
    def _upsert_statement(self, table: sa.Table, keys: tuple[str, ...]) -> Any:
        """One compiled INSERT ... ON CONFLICT DO UPDATE per table, run with executemany."""
        stmt = self._insert(table)
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=update)

    # datasets
    @staticmethod
    def _dataset(row: Any) -> DatasetVersion:
        return DatasetVersion(row.name, row.version, row.artifact, row.rows, row.columns, row.profile,
                              row.source, row.created_at, row.parents, row.meta)

    def add_dataset_version(self, dv):
        row = dict(name=dv.name, version=dv.version, artifact=dv.artifact, rows=dv.rows, columns=dv.columns,
                   profile=dv.profile, source=dv.source, created_at=dv.created_at, parents=dv.parents,
                   meta=dv.meta)
        with self.engine.begin() as conn:
            # SQLAlchemy only keeps an INSERT's rowcount when asked (psycopg reports -1 otherwise).
            inserted = conn.execute(
                self._insert(t.dataset_versions).values(row).on_conflict_do_nothing(),
                execution_options={"preserve_rowcount": True},
            ).rowcount
            if inserted:
                return dv, True
            existing = conn.execute(sa.select(t.dataset_versions).where(
                t.dataset_versions.c.name == dv.name, t.dataset_versions.c.version == dv.version)).one()
            return self._dataset(existing), False

    def list_dataset_versions(self, name=None):
        query = sa.select(t.dataset_versions).order_by(t.dataset_versions.c.created_at)
        if name is not None:
            query = query.where(t.dataset_versions.c.name == name)
        with self.engine.connect() as conn:
            return [self._dataset(r) for r in conn.execute(query)]

    def get_dataset_version(self, name, version="latest"):
        # one indexed lookup, not every version's profile: ingest asks this for each new frame
        table = t.dataset_versions
        query = sa.select(table).where(table.c.name == name)
        if version in ("", "latest"):
            query = query.order_by(table.c.created_at.desc()).limit(1)
        else:
            query = query.where(table.c.version.startswith(version, autoescape=True)).limit(2)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        if len(rows) == 1:
            return self._dataset(rows[0])
        return super().get_dataset_version(name, version)  # unknown or ambiguous: the base class explains

    def dataset_names(self):
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(t.dataset_versions.c.name).distinct()).scalars())

    # runs
    def create_run(self, run):
        with self.engine.begin() as conn:
            conn.execute(t.runs.insert().values(id=run.id, name=run.name, status=run.status,
                                                started_at=run.started_at, ended_at=run.ended_at,
                                                dataset=run.dataset))
        self._known_runs.add(run.id)
        if run.params:
            self.log_params(run.id, run.params)
        if run.tags:
            self.set_tags(run.id, run.tags)
        return run

    def _resolve_run_id(self, conn: sa.Connection, run_id: str) -> str:
        if run_id in self._known_runs:  # runs are never deleted: one lookup per id per process is enough
            return run_id
        found = conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id == run_id)).scalar()
        if found:
            self._known_runs.add(found)
            return found
        if len(run_id) >= 4:
            matches = list(conn.execute(sa.select(t.runs.c.id).where(t.runs.c.id.startswith(run_id, autoescape=True))
                                        .limit(2)).scalars())
            if len(matches) == 1:
                return matches[0]
        raise NotFoundError(f"Unknown run {run_id!r}.", hint="List runs with `conveyor runs list`.")

    def end_run(self, run_id, status, ended_at=None):
        with self.engine.begin() as conn:
            rid = self._resolve_run_id(conn, run_id)
            conn.execute(t.runs.update().where(t.runs.c.id == rid).values(status=status, ended_at=ended_at or now()))

    def log_params(self, run_id, params):
        with self.engine.begin() as conn:
            run_id = self._resolve_run_id(conn, run_id)
            self._upsert(conn, t.run_params, [{"run_id": run_id, "key": k, "value": str(v)} for k, v in params.items()],
                         ["run_id", "key"])

    def set_tags(self, run_id, tags):
        with self.engine.begin() as conn:
            run_id = self._resolve_run_id(conn, run_id)
            self._upsert(conn, t.run_tags, [{"run_id": run_id, "key": k, "value": str(v)} for k, v in tags.items()],
                         ["run_id", "key"])

    def add_run_artifact(self, run_id, name, digest):
        with self.engine.begin() as conn:
            run_id = self._resolve_run_id(conn, run_id)
            self._upsert(conn, t.run_artifacts, [{"run_id": run_id, "name": name, "digest": digest}],
                         ["run_id", "name"])

    def log_metrics(self, run_id, metrics):
        if not metrics:
            return
        latest: dict[str, dict[str, Any]] = {}
        with self.engine.begin() as conn:
            run_id = self._resolve_run_id(conn, run_id)
            rows = [{"run_id": run_id, "key": m.key, "value": float(m.value), "step": int(m.step),
                     "timestamp": m.timestamp} for m in metrics]
            for row in rows:  # the highest step wins; among equal steps, the last logged
                if row["key"] not in latest or row["step"] >= latest[row["key"]]["step"]:
                    latest[row["key"]] = {"run_id": run_id, "key": row["key"], "value": row["value"],
                                          "step": row["step"]}
            conn.execute(t.metric_history.insert(), rows)
            conn.execute(self._latest_upsert, list(latest.values()))

    @functools.cached_property
    def _latest_upsert(self) -> Any:
        insert = self._insert(t.latest_metrics)
        return insert.on_conflict_do_update(index_elements=["run_id", "key"],
                                            set_={"value": insert.excluded.value, "step": insert.excluded.step},
                                            where=insert.excluded.step >= t.latest_metrics.c.step)

    def _runs_from_rows(self, conn: sa.Connection, rows: list[Any]) -> list[Run]:
        runs = {r.id: Run(r.id, r.name, r.status, r.started_at, r.ended_at, r.dataset) for r in rows}
        if not runs:
            return []
        ids = list(runs)
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for p in conn.execute(sa.select(t.run_params).where(t.run_params.c.run_id.in_(chunk))):
                runs[p.run_id].params[p.key] = p.value
            for g in conn.execute(sa.select(t.run_tags).where(t.run_tags.c.run_id.in_(chunk))):
                runs[g.run_id].tags[g.key] = g.value
            for m in conn.execute(sa.select(t.latest_metrics).where(t.latest_metrics.c.run_id.in_(chunk))):
                runs[m.run_id].metrics[m.key] = m.value
            for a in conn.execute(sa.select(t.run_artifacts).where(t.run_artifacts.c.run_id.in_(chunk))):
                runs[a.run_id].artifacts[a.name] = a.digest
        return [runs[r.id] for r in rows]

    def get_run(self, run_id):
        with self.engine.connect() as conn:
            rid = self._resolve_run_id(conn, run_id)
            rows = list(conn.execute(sa.select(t.runs).where(t.runs.c.id == rid)))
            return self._runs_from_rows(conn, rows)[0]

    def metric_history(self, run_id, key):
        with self.engine.connect() as conn:
            rid = self._resolve_run_id(conn, run_id)
            rows = conn.execute(sa.select(t.metric_history).where(t.metric_history.c.run_id == rid,
                                                                  t.metric_history.c.key == key)
                                .order_by(t.metric_history.c.id))
            return [Metric(r.key, r.value, r.step, r.timestamp) for r in rows]

    def list_runs(self, *, order_by_metric=None, ascending=False, dataset_name=None, limit=None):
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
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return self._runs_from_rows(conn, list(conn.execute(query)))

    # models
    @staticmethod
    def _model(row: Any) -> ModelVersion:
        return ModelVersion(row.name, row.version, row.artifact, row.flavor, row.run_id, row.dataset,
                            row.signature, row.metrics, row.created_at, row.meta)

    def _retrying(self, what: str, work: Callable[[sa.Connection], Any]) -> Any:
        """Run ``work`` in one transaction, again when a concurrent writer took the same key (a version number or
        an audit sequence number) first."""
        for attempt in range(self._RETRIES):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except sa.exc.IntegrityError:
                time.sleep(0.01 * (attempt + 1))
        raise StoreError(f"Could not {what} under contention; try again.")

    def create_model_version(self, mv, audit=None):
        def work(conn: sa.Connection) -> ModelVersion:
            top = conn.execute(sa.select(sa.func.max(t.model_versions.c.version))
                               .where(t.model_versions.c.name == mv.name)).scalar()
            number = (top or 0) + 1
            conn.execute(t.model_versions.insert().values(
                name=mv.name, version=number, artifact=mv.artifact, flavor=mv.flavor, run_id=mv.run_id,
                dataset=mv.dataset, signature=mv.signature, metrics=mv.metrics, created_at=mv.created_at,
                meta=mv.meta))
            if audit is not None:
                self._append_audit_row(conn, audit.actor, audit.action, f"{mv.name}:{number}", audit.details)
            return replace(mv, version=number)

        return self._retrying(f"number a new version of model {mv.name!r}", work)

    def list_model_versions(self, name=None):
        query = sa.select(t.model_versions).order_by(t.model_versions.c.name, t.model_versions.c.version)
        if name is not None:
            query = query.where(t.model_versions.c.name == name)
        with self.engine.connect() as conn:
            return [self._model(r) for r in conn.execute(query)]

    def model_names(self):
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(t.model_versions.c.name).distinct()).scalars())

    def get_model_version(self, name, version):
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.model_versions).where(t.model_versions.c.name == name,
                                                                 t.model_versions.c.version == version)).first()
        if row is not None:
            return self._model(row)
        if name not in self.model_names():
            raise NotFoundError.for_name("model", name, self.model_names())
        raise NotFoundError(f"Model {name!r} has no version {version}.", hint=f"See `conveyor models show {name}`.")

    def set_alias(self, name, alias, version, audit=None):
        if version is not None:
            self.get_model_version(name, version)

        def work(conn: sa.Connection) -> AliasChange:
            previous = conn.execute(sa.select(t.aliases.c.version).where(t.aliases.c.model == name,
                                                                          t.aliases.c.alias == alias)).scalar()
            if version is None:
                conn.execute(t.aliases.delete().where(t.aliases.c.model == name, t.aliases.c.alias == alias))
            else:
                self._upsert(conn, t.aliases, [{"model": name, "alias": alias, "version": version}],
                             ["model", "alias"])
            change = AliasChange(name, alias, version, previous)
            conn.execute(t.alias_history.insert().values(model=name, alias=alias, version=version,
                                                          previous=previous, at=change.at))
            if audit is not None:
                self._append_audit_row(conn, audit.actor, audit.action, f"{name}@{alias}",
                                       {**audit.details, "version": version, "previous": previous})
            return change

        return self._retrying(f"move alias {name}@{alias}", work)

    def aliases(self, name):
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.aliases).where(t.aliases.c.model == name).order_by(t.aliases.c.alias))
            return {r.alias: r.version for r in rows}

    def alias_history(self, name, alias):
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.alias_history).where(t.alias_history.c.model == name,
                                                                 t.alias_history.c.alias == alias)
                                .order_by(t.alias_history.c.id))
            return [AliasChange(r.model, r.alias, r.version, r.previous, r.at) for r in rows]

    # audit
    def _append_audit_row(self, conn: sa.Connection, actor: str, action: str, subject: str,
                          details: dict[str, Any]) -> AuditEntry:
        last = conn.execute(sa.select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        at = round(now(), 6)
        digest = chain_hash(prev, seq, at, actor, action, subject, details)
        conn.execute(t.audit.insert().values(seq=seq, at=at, actor=actor, action=action, subject=subject,
                                             details=details, prev_hash=prev, hash=digest))
        return AuditEntry(seq, at, actor, action, subject, details, prev, digest)

    def append_audit(self, actor, action, subject, details):
        # a concurrent writer that took this seq makes the insert fail: chain onto theirs instead
        return self._retrying("append to the audit trail",
                              lambda conn: self._append_audit_row(conn, actor, action, subject, details))

    def list_audit(self):
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.audit).order_by(t.audit.c.seq))
            return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash, r.hash)
                    for r in rows]

    # prediction log
    def log_predictions(self, records):
        # The one table written at serving rates. Its JSON is encoded by orjson (~1 us for a 20-value row against
        # ~13 us for json.dumps), which writes null for a non-finite float: for predictions that is a missing value.
        if not records:
            return
        rows = [{"id": r.id, "model": r.model, "model_name": r.model.split(":")[0], "at": r.at,
                 "latency_ms": r.latency_ms, "inputs": _encode(r.inputs), "outputs": _encode(r.outputs),
                 "label": _encode(r.label), "labeled_at": r.labeled_at, "role": r.role, "request_id": r.request_id}
                for r in records]
        with self.engine.begin() as conn:
            conn.execute(_PREDICTION_ROWS.insert(), rows)

    def add_feedback(self, labels):
        missing = []
        with self.engine.begin() as conn:
            stamp = now()
            for pid, label in labels.items():
                done = conn.execute(t.predictions.update().where(t.predictions.c.id == pid)
                                    .values(label=label, labeled_at=stamp)).rowcount
                if not done:
                    missing.append(pid)
        return missing

    def list_predictions(self, model_name=None, limit=None, *, model_version=None):
        query = sa.select(t.predictions).order_by(t.predictions.c.at.desc())
        if model_name is not None:
            query = query.where(t.predictions.c.model_name == model_name)
        if model_version is not None:
            query = query.where(t.predictions.c.model == model_version)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [PredictionRecord(r.id, r.model, r.inputs, r.outputs, r.at, r.latency_ms, r.label, r.labeled_at,
                                     r.role, r.request_id) for r in conn.execute(query)]

    # --- monitor ---
    def put_reference_stats(self, model, stats):
        stmt = self._insert(t.reference_stats).values(model=model, stats=stats, created_at=now())
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["model"]))
            return conn.execute(sa.select(t.reference_stats.c.stats).where(t.reference_stats.c.model == model)).scalar()

    def get_reference_stats(self, model):
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.reference_stats.c.stats).where(t.reference_stats.c.model == model)).scalar()

    def add_samples(self, samples):
        if samples:
            with self.engine.begin() as conn:
                conn.execute(t.monitor_samples.insert(), [{"subject": s.subject, "series": s.series,
                                                           "value": float(s.value), "at": s.at} for s in samples])

    def list_samples(self, subject=None, *, series=None, since=None, limit=None):
        c = t.monitor_samples.c
        query = sa.select(t.monitor_samples).order_by(c.at.desc(), c.id.desc())
        if subject is not None:
            query = query.where(c.subject == subject)
        if series is not None:
            if series.endswith("*"):
                prefix = series[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = query.where(c.series.like(prefix + "%", escape="\\"))
            else:
                query = query.where(c.series == series)
        if since is not None:
            query = query.where(c.at >= since)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [Sample(r.subject, r.series, r.value, r.at) for r in reversed(rows)]

    @staticmethod
    def _alert_row(alert: Alert) -> dict[str, Any]:
        return {"id": alert.id, "rule": alert.rule, "subject": alert.subject, "signal": alert.signal,
                "value": alert.value, "threshold": alert.threshold, "message": alert.message,
                "fired_at": alert.fired_at, "last_seen_at": alert.last_seen_at, "count": alert.count,
                "status": alert.status, "acked_by": alert.acked_by, "acked_at": alert.acked_at,
                "notified": list(alert.notified), "notify_errors": dict(alert.notify_errors)}

    @staticmethod
    def _alert(r: Any) -> Alert:
        return Alert(r.id, r.rule, r.subject, r.signal, r.value, r.threshold, r.message, r.fired_at, r.last_seen_at,
                     r.count, r.status, r.acked_by, r.acked_at, list(r.notified), dict(r.notify_errors or {}))

    def add_alert(self, alert):
        with self.engine.begin() as conn:
            conn.execute(t.alerts.insert().values(**self._alert_row(alert)))
        return replace(alert, notified=list(alert.notified), notify_errors=dict(alert.notify_errors))

    def update_alert(self, alert):
        row = self._alert_row(alert)
        with self.engine.begin() as conn:
            done = conn.execute(t.alerts.update().where(t.alerts.c.id == alert.id).values(**row)).rowcount
        if not done:
            raise NotFoundError(f"No alert {alert.id!r}.", hint="See `conveyor alerts`.")

    def get_alert(self, alert_id):
        prefix = alert_id.replace("%", "").replace("_", "")
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.alerts).where(t.alerts.c.id.like(prefix + "%")).limit(50))
            return _one_alert(alert_id, [self._alert(r) for r in rows if r.id.startswith(alert_id)])

    def list_alerts(self, subject=None, *, status=None, limit=None):
        query = sa.select(t.alerts).order_by(t.alerts.c.fired_at.desc())
        if subject is not None:
            query = query.where(t.alerts.c.subject == subject)
        if status is not None:
            query = query.where(t.alerts.c.status == status)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [self._alert(r) for r in conn.execute(query)]

    @staticmethod
    def _job(r: Any) -> AgentJob:
        return AgentJob(r.key, r.status, r.holder, r.heartbeat_at, r.attempts, r.result, r.created_at)

    def claim_job(self, key, holder, *, lease_seconds, at=None):
        at = now() if at is None else at
        c = t.agent_jobs.c
        insert = self._insert(t.agent_jobs).values(key=key, status="running", holder=holder, heartbeat_at=at,
                                                   attempts=1, result={}, created_at=at)
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: PostgreSQL's driver reports a skipped ON CONFLICT insert as one row
            taken = conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]).returning(c.key)).first()
            if taken is None:  # one conditional UPDATE: of two agents taking over a stale job, one wins
                taken = conn.execute(t.agent_jobs.update()
                                     .where(c.key == key, c.status == "running", c.heartbeat_at < at - lease_seconds)
                                     .values(holder=holder, heartbeat_at=at, attempts=c.attempts + 1)
                                     .returning(c.key)).first()
            if taken is None:
                return None
            return self._job(conn.execute(sa.select(t.agent_jobs).where(c.key == key)).first())

    def update_job(self, key, *, status=None, result=None, holder=None, at=None):
        c = t.agent_jobs.c
        values: dict[str, Any] = {"heartbeat_at": now() if at is None else at}
        if status is not None:
            values["status"] = status
        if result is not None:
            values["result"] = result
        query = t.agent_jobs.update().where(c.key == key)
        if holder is not None:
            query = query.where(c.holder == holder)
        with self.engine.begin() as conn:
            return bool(conn.execute(query.values(**values)).rowcount)

    def get_job(self, key):
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.agent_jobs).where(t.agent_jobs.c.key == key)).first()
        return None if row is None else self._job(row)

    def list_jobs(self, status=None):
        query = sa.select(t.agent_jobs).order_by(t.agent_jobs.c.created_at, t.agent_jobs.c.key)
        if status is not None:
            query = query.where(t.agent_jobs.c.status == status)
        with self.engine.connect() as conn:
            return [self._job(r) for r in conn.execute(query)]
