"""The registry role on SQL: ``model_versions``, ``aliases``, ``alias_history`` and the hash-chained ``audit``.

A registry write and its audit row share one transaction. Version numbers and audit sequence numbers are primary
keys: of two concurrent writers that picked the same number one fails its insert, and its whole transaction is
retried (so the numbering has no gaps and no repeats on SQLite and PostgreSQL alike). On PostgreSQL the writers do
not race at all: a transaction that numbers a model's versions takes that model's advisory lock, and one that appends
to the audit chain takes the chain's, first thing and always in that order (:meth:`SqlDatabase.lock`), so under load
they queue instead of failing and retrying (tests/store/test_postgres_concurrency.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from conveyor.core.entities import AliasChange, AuditEntry, AuditNote, ModelNote, ModelVersion
from conveyor.core.errors import IntegrityError
from conveyor.store import schema as t
from conveyor.store.audit import GENESIS, RESTORE, chained_entry
from conveyor.store.registry import NoteChange, RegistryStore, alias_audit_details, note_subject
from conveyor.store.sql.database import SqlDatabase

__all__ = ["SqlRegistryStore"]

AUDIT_LOCK = "audit"


def _model(row: Any) -> ModelVersion:
    return ModelVersion(row.name, row.version, row.artifact, row.flavor, row.run_id, row.dataset, row.signature,
                        row.metrics, row.created_at, row.meta)


def _append_audit_row(conn: sa.Connection, actor: str, action: str, subject: str,
                      details: dict[str, Any], key: bytes | None) -> AuditEntry:
    last = conn.execute(sa.select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)).first()
    entry = chained_entry(last.hash if last else GENESIS, last.seq + 1 if last else 1, actor, action, subject, details,
                          key=key)
    conn.execute(t.audit.insert().values(seq=entry.seq, at=entry.at, actor=actor, action=action, subject=subject,
                                         details=details, prev_hash=entry.prev_hash, hash=entry.hash,
                                         keyed=entry.keyed))
    return entry


def _audit_entry(row: Any) -> AuditEntry:
    """A row read with its details as text, so one damaged row is named instead of failing the whole read."""
    try:
        details = json.loads(row.details) if isinstance(row.details, str) else row.details
        return AuditEntry(int(row.seq), float(row.at), str(row.actor), str(row.action), str(row.subject),
                          details, str(row.prev_hash), str(row.hash), bool(row.keyed))
    except (TypeError, ValueError) as exc:
        raise IntegrityError(f"Audit row {row.seq} cannot be read: {exc}.", hint=RESTORE) from None


class SqlRegistryStore(RegistryStore):
    def __init__(self, db: SqlDatabase) -> None:
        self.db = db
        self.url = db.url

    def create_version(self, mv: ModelVersion, audit: AuditNote | None = None) -> ModelVersion:
        written: list[AuditEntry] = []

        def work(conn: sa.Connection) -> ModelVersion:
            written.clear()
            top = conn.execute(sa.select(sa.func.max(t.model_versions.c.version))
                               .where(t.model_versions.c.name == mv.name)).scalar()
            number = int(top or 0) + 1
            conn.execute(t.model_versions.insert().values(
                name=mv.name, version=number, artifact=mv.artifact, flavor=mv.flavor, run_id=mv.run_id,
                dataset=mv.dataset, signature=mv.signature, metrics=mv.metrics, created_at=mv.created_at,
                meta=mv.meta))
            if audit is not None:
                written.append(_append_audit_row(conn, audit.actor, audit.action, f"{mv.name}:{number}",
                                                 audit.details, self.sealing.key))
            return replace(mv, version=number)

        locks = [f"model-versions:{mv.name}", *([AUDIT_LOCK] if audit is not None else [])]
        numbered = self.db.retrying(f"number a new version of model {mv.name!r}", work, locks=locks)
        self._sealed(written)
        return numbered

    def _sealed(self, written: list[AuditEntry]) -> None:
        """After the commit: sign the new head to the anchor."""
        for entry in written:
            self.sealing.seal(entry)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        query = sa.select(t.model_versions).order_by(t.model_versions.c.name, t.model_versions.c.version)
        if name is not None:
            query = query.where(t.model_versions.c.name == name)
        with self.db.engine.connect() as conn:
            return [_model(r) for r in conn.execute(query)]

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        mv = t.model_versions
        query = sa.select(mv).where(mv.c.run_id == run_id).order_by(mv.c.name, mv.c.version)
        with self.db.engine.connect() as conn:
            return [_model(r) for r in conn.execute(query)]

    def names(self) -> list[str]:
        with self.db.engine.connect() as conn:
            return sorted(conn.execute(sa.select(t.model_versions.c.name).distinct()).scalars())

    def _find_version(self, name: str, version: int) -> ModelVersion | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.model_versions).where(t.model_versions.c.name == name,
                                                                 t.model_versions.c.version == version)).first()
        return None if row is None else _model(row)

    def _move_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None) -> AliasChange:
        a = t.aliases.c
        written: list[AuditEntry] = []

        def work(conn: sa.Connection) -> AliasChange:
            written.clear()
            previous: int | None = conn.execute(sa.select(a.version).where(a.model == name, a.alias == alias)).scalar()
            if version is None:
                conn.execute(t.aliases.delete().where(a.model == name, a.alias == alias))
            else:
                self.db.upsert(conn, t.aliases, [{"model": name, "alias": alias, "version": version}],
                               ["model", "alias"])
            change = AliasChange(name, alias, version, previous)
            conn.execute(t.alias_history.insert().values(model=name, alias=alias, version=version,
                                                          previous=previous, at=change.at))
            if audit is not None:
                written.append(_append_audit_row(conn, audit.actor, audit.action, f"{name}@{alias}",
                                                 alias_audit_details(audit, version, previous), self.sealing.key))
            return change

        change = self.db.retrying(f"move alias {name}@{alias}", work, locks=[AUDIT_LOCK] if audit is not None else [])
        self._sealed(written)
        return change

    def aliases(self, name: str) -> dict[str, int]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(t.aliases).where(t.aliases.c.model == name).order_by(t.aliases.c.alias))
            return {r.alias: r.version for r in rows}

    def alias_history(self, name: str, alias: str) -> list[AliasChange]:
        h = t.alias_history.c
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(t.alias_history).where(h.model == name, h.alias == alias).order_by(h.id))
            return [AliasChange(r.model, r.alias, r.version, r.previous, r.at) for r in rows]

    def append_audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditEntry:
        # a concurrent writer that took this seq makes the insert fail: chain onto theirs instead
        entry = self.db.retrying("append to the audit trail",
                                 lambda conn: _append_audit_row(conn, actor, action, subject, details,
                                                                self.sealing.key), locks=[AUDIT_LOCK])
        self._sealed([entry])
        return entry

    def audit_log(self) -> list[AuditEntry]:
        c = t.audit.c
        query = sa.select(c.seq, c.at, c.actor, c.action, c.subject, sa.cast(c.details, sa.Text).label("details"),
                          c.prev_hash, c.hash, c.keyed).order_by(c.seq)
        with self.db.engine.connect() as conn:
            return [_audit_entry(r) for r in conn.execute(query)]

    def notes(self, name: str | None = None) -> list[ModelNote]:
        n = t.model_notes.c
        query = sa.select(t.model_notes).order_by(n.name, n.version)
        if name is not None:
            query = query.where(n.name == name)
        with self.db.engine.connect() as conn:
            return [_note(r) for r in conn.execute(query)]

    def _write_note(self, name: str, version: int, change: NoteChange, audit: AuditNote | None) -> ModelNote:
        n = t.model_notes.c
        written: list[AuditEntry] = []

        def work(conn: sa.Connection) -> ModelNote:
            written.clear()
            row = conn.execute(sa.select(t.model_notes).where(n.name == name, n.version == version)).first()
            note = change.apply(_note(row) if row else ModelNote(name, version))
            self.db.upsert(conn, t.model_notes, [{"name": name, "version": version, "description": note.description,
                                                  "tags": note.tags, "deleted": note.deleted,
                                                  "updated_at": note.updated_at}], ["name", "version"])
            if audit is not None:
                written.append(_append_audit_row(conn, audit.actor, audit.action, note_subject(name, version),
                                                 audit.details, self.sealing.key))
            return note

        note = self.db.retrying(f"annotate model {note_subject(name, version)}", work,
                                locks=[AUDIT_LOCK] if audit is not None else [])
        self._sealed(written)
        return note


def _note(row: Any) -> ModelNote:
    return ModelNote(row.name, row.version, row.description, dict(row.tags or {}), bool(row.deleted), row.updated_at)
