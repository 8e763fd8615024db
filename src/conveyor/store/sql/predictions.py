"""The prediction log on SQL: table ``predictions``, written in batches at serving rates.

The serving path (:meth:`SqlPredictionStore.log_batches`) goes from columns to DBAPI tuples with no record object,
no SQLAlchemy statement compilation and no per-row parameter dict: one ``executemany`` of a prepared ``INSERT`` per
write, the model, time, latency, role and request id shared by every row of a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import orjson
import sqlalchemy as sa

from conveyor.core.entities import PredictionRecord, now
from conveyor.store import schema as t
from conveyor.store.predictions import PredictionBatch, PredictionStore
from conveyor.store.sql.database import SqlDatabase, strict_json

__all__ = ["SqlPredictionStore"]


class _EncodedJSON(sa.types.TypeDecorator[Any]):
    """A JSON column whose values arrive already encoded, so SQLAlchemy does not encode them again."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect: sa.Dialect) -> None:
        return None


_ROWS = sa.table("predictions", *(
    sa.column(c.name, _EncodedJSON() if isinstance(c.type, sa.JSON) else c.type) for c in t.predictions.columns))


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _encode(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:  # what orjson does not know (e.g. integers beyond 64 bits): the standard library's way
        return strict_json(value)


_COLUMNS = ("id", "model", "model_name", "at", "latency_ms", "inputs", "outputs", "label", "labeled_at", "role",
            "request_id")
_NULL = _encode(None)  # how a JSON column spells "no label yet" (as the record path writes it)


def _insert_sql(paramstyle: str, *, skip_existing: bool = False) -> str | None:
    """The driver-level INSERT for a DBAPI paramstyle (``ON CONFLICT (id) DO NOTHING`` when ``skip_existing``: SQLite
    and PostgreSQL spell it alike); None for one this module does not spell (then the SQLAlchemy statement is used)."""
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(paramstyle)
    if mark is None:
        return None
    conflict = " ON CONFLICT (id) DO NOTHING" if skip_existing else ""
    return f"INSERT INTO predictions ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))}){conflict}"


def _batch_rows(batch: PredictionBatch) -> list[tuple[Any, ...]]:
    names = batch.names
    try:  # the common case in one comprehension each: orjson with no per-row function call of ours
        inputs = [_dumps(dict(zip(names, row, strict=True))).decode() for row in batch.rows()]
        outputs = [_dumps(o).decode() for o in batch.outputs()]
    except TypeError:  # a value orjson does not know: the careful encoder, row by row
        inputs = [_encode(dict(zip(names, row, strict=True))) for row in batch.rows()]
        outputs = [_encode(o) for o in batch.outputs()]
    return list(zip(batch.ids, repeat(batch.model), repeat(batch.model.split(":")[0]), repeat(batch.at),
                    repeat(batch.latency_ms), inputs, outputs, repeat(_NULL), repeat(None), repeat(batch.role),
                    repeat(batch.request_id), strict=False))


class SqlPredictionStore(PredictionStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url
        self._insert = {skip: _insert_sql(db.engine.dialect.paramstyle, skip_existing=skip) for skip in (False, True)}

    def log_batches(self, batches: Sequence[PredictionBatch], *, skip_existing: bool = False) -> None:
        rows = [row for batch in batches for row in _batch_rows(batch)]
        if not rows:
            return
        self._write(rows, skip_existing)

    def _write(self, rows: list[tuple[Any, ...]], skip_existing: bool) -> None:
        insert = self._insert[skip_existing]
        with self.db.engine.begin() as conn:
            if insert is None:
                conn.execute(self._statement(skip_existing), [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
            else:
                conn.exec_driver_sql(insert, rows)

    def _append(self, records: list[PredictionRecord], *, skip_existing: bool = False) -> None:
        # The one table written at serving rates. Its JSON is encoded by orjson (~1 us for a 20-value row against
        # ~13 us for json.dumps), which writes null for a non-finite float: for predictions that is a missing value.
        rows = [{"id": r.id, "model": r.model, "model_name": r.model.split(":")[0], "at": r.at,
                 "latency_ms": r.latency_ms, "inputs": _encode(r.inputs), "outputs": _encode(r.outputs),
                 "label": _encode(r.label), "labeled_at": r.labeled_at, "role": r.role, "request_id": r.request_id}
                for r in records]
        with self.db.engine.begin() as conn:
            conn.execute(self._statement(skip_existing), rows)

    def _statement(self, skip_existing: bool) -> Any:
        """The SQLAlchemy INSERT of already-encoded rows (``ON CONFLICT (id) DO NOTHING`` when ``skip_existing``)."""
        if not skip_existing:
            return _ROWS.insert()
        return self.db.insert(_ROWS).on_conflict_do_nothing(index_elements=["id"])  # type: ignore[arg-type]

    def add_feedback(self, labels: Mapping[str, Any], *, relabel: bool = False) -> list[str]:
        missing = []
        p = t.predictions.c
        with self.db.engine.begin() as conn:
            stamp = now()
            for pid, label in labels.items():
                which = p.id == pid if relabel else sa.and_(p.id == pid, p.labeled_at.is_(None))  # write-once
                found = conn.execute(t.predictions.update().where(which).values(label=label, labeled_at=stamp)
                                     .returning(p.id)).first()
                if found is None:
                    missing.append(pid)
        return missing

    def recent(self, model_name: str | None = None, limit: int | None = None, *,
               model_version: str | None = None) -> list[PredictionRecord]:
        query = sa.select(t.predictions).order_by(t.predictions.c.at.desc())
        if model_name is not None:
            query = query.where(t.predictions.c.model_name == model_name)
        if model_version is not None:
            query = query.where(t.predictions.c.model == model_version)
        if limit:
            query = query.limit(limit)
        with self.db.engine.connect() as conn:
            return [PredictionRecord(r.id, r.model, r.inputs, r.outputs, r.at, r.latency_ms, r.label, r.labeled_at,
                                     r.role, r.request_id) for r in conn.execute(query)]
