"""Backups of a project's stores (`conveyor backup DEST`) and their restore (`conveyor restore SRC`).

A backup is a folder::

    manifest.json       format, conveyor and schema versions, row counts, audit head, key ids (never keys)
    metadata.sqlite     a consistent snapshot of the metadata store
    predictions.sqlite  the prediction log, when it lives in a database of its own
    artifacts/          every stored object as it is at rest (still encrypted where encryption is on)
    files/              conveyor.yaml, the audit anchor, contracts/ and pipelines/

The snapshot is taken while writers keep writing. SQLite: the online backup API copies the database in one read
transaction (WAL readers never block the writer). PostgreSQL: a logical copy through SQLAlchemy inside one
REPEATABLE READ transaction, into a SQLite file with the same schema; chosen over pg_dump because it needs no
client binaries matching the server's major version, gives the same backup format for both backends, and restores
into either (a SQLite project can move to PostgreSQL through a backup, and back). Artifacts are copied after the
snapshot: bytes are always written before the record that names them, so every artifact the snapshot names is
there to copy. The audit anchor is copied before the snapshot, so it never names a row the snapshot lacks.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conveyor._version import __version__
from conveyor.core.entities import now
from conveyor.core.errors import BadInputError
from conveyor.store import schema as t
from conveyor.store.artifacts import FsspecArtifactStore
from conveyor.store.backends import open_artifact_store
from conveyor.store.migrate import HEAD, current_revision, upgrade
from conveyor.store.prediction_segments import segment_folder_for
from conveyor.store.sql.database import SqlDatabase, create_engine
from conveyor.store.stores import Stores
from conveyor.store.urls import mask

__all__ = ["FORMAT", "backup_stores", "check_restore_target", "restore_stores"]

FORMAT = 1
BATCH = 1000
SETTLE_SECONDS = 30.0  # how long a backup waits for another reader's drain in flight (one takes well under 1 s)


def _tables(conn: sa.Connection) -> list[sa.Table]:
    """The tables to copy, parents before children: the known schema's, then any other a migration added."""
    present = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    known = [table for table in t.metadata.sorted_tables if table.name in present]
    others = sorted(present - {table.name for table in known})
    if others:
        reflected = sa.MetaData()
        reflected.reflect(bind=conn, only=others)
        known += [reflected.tables[name] for name in others]
    return known


def _generic(kind: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    try:
        return kind.as_generic()
    except NotImplementedError:
        return kind


def _portable(table: sa.Table) -> sa.Table:
    """A reflected table in generic types (SQLite's BLOB is PostgreSQL's bytea), to create on another backend."""
    return sa.Table(table.name, sa.MetaData(), *(
        sa.Column(c.name, _generic(c.type), primary_key=c.primary_key, nullable=c.nullable,
                  autoincrement=False) for c in table.columns))


def _copy(source: sa.Connection, target: sa.Connection, only: set[str] | None = None) -> dict[str, int]:
    counts = {}
    present = set(sa.inspect(target).get_table_names())
    for table in _tables(source):
        if only is not None and table.name not in only:
            continue
        if table.name not in present:  # a plug-in's table no migration of this conveyor makes: as it was
            _portable(table).create(target)
        result = source.execute(sa.select(table))
        copied = 0
        while batch := result.mappings().fetchmany(BATCH):
            target.execute(table.insert(), [dict(row) for row in batch])
            copied += len(batch)
        counts[table.name] = copied
    return counts


def _snapshot(db: SqlDatabase, path: Path, only: set[str] | None = None) -> dict[str, int]:
    """A consistent copy of ``db`` into the SQLite file ``path``; the row count of each table copied."""
    if db.dialect == "sqlite" and only is None:
        live = sqlite3.connect(str(db.engine.url.database), timeout=30)
        copy = sqlite3.connect(str(path))
        try:
            live.backup(copy)
        finally:
            copy.close()
            live.close()
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                return {table.name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)
                        for table in _tables(conn)}
        finally:
            engine.dispose()
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as source, \
                source.begin(), engine.begin() as target:
            return _copy(source, target, only)
    finally:
        engine.dispose()


def _objects(folder: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".tmp-"):
            yield path.parent.name + path.name, path


def backup_stores(stores: Stores, dest: Path, *, files: dict[str, Path], keys: dict[str, Any]) -> dict[str, Any]:
    """Write a backup of ``stores`` (and the project ``files``, copied first) into the empty folder ``dest``."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise BadInputError(f"The backup folder {dest} is not empty.", field="dest",
                            hint="Back up into a new folder (one per backup).")
    db = getattr(stores.datasets, "db", None)
    if not isinstance(db, SqlDatabase):
        raise BadInputError(f"Backups need a SQL metadata store, not {stores.url!r}.", field="CONVEYOR_DB_URL")
    dest.mkdir(parents=True, exist_ok=True)
    copied_files = []
    for relative, path in files.items():  # before the snapshot: the anchor never names a row it lacks
        if path.is_dir():
            shutil.copytree(path, dest / "files" / relative)
        elif path.is_file():
            (dest / "files" / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / "files" / relative)
        else:
            continue
        copied_files.append(relative)
    started = now()
    # the prediction log's pending segments belong in the snapshot, and so do those another reader is moving now
    stores.predictions.drain(settle=SETTLE_SECONDS)
    tables = _snapshot(db, dest / "metadata.sqlite")
    log_db = getattr(stores.predictions, "db", None)
    separate = isinstance(log_db, SqlDatabase) and log_db is not db
    if separate:
        assert isinstance(log_db, SqlDatabase)
        tables_log = _snapshot(log_db, dest / "predictions.sqlite", only={"predictions"})
        tables["predictions"] = tables_log.get("predictions", 0)
    raw = stores.artifacts.stored()
    archive = FsspecArtifactStore(str(dest / "artifacts"))
    size = 0
    names = raw.digests()
    for name in names:
        try:
            data = raw._read(name)
        except FileNotFoundError:  # collected since it was listed
            continue
        archive._write(name, data)
        size += len(data)
    head = _audit_head(dest / "metadata.sqlite")
    manifest = {"format": FORMAT, "conveyor": __version__, "schema": HEAD, "created_at": started,
                "database": db.dialect, "source": mask(db.url), "separate_prediction_log": separate,
                "tables": tables, "artifacts": {"objects": len(names), "bytes": size}, "audit_head": head,
                "keys": keys, "files": copied_files}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _audit_head(path: Path) -> dict[str, Any] | None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc())
                               .limit(1)).first()
    finally:
        engine.dispose()
    return None if row is None else {"seq": int(row.seq), "hash": row.hash}


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((Path(src) / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{src} is not a conveyor backup: {exc}.", field="src",
                            hint="Point at a folder written by `conveyor backup`.") from None
    if manifest.get("format") != FORMAT:
        raise BadInputError(f"The backup {src} has format {manifest.get('format')!r}; this conveyor reads {FORMAT}.",
                            field="src", hint="Restore it with the conveyor version that wrote it.")
    return dict(manifest)


def _empty(engine: sa.Engine, url: str, only: set[str] | None = None, *, field: str = "CONVEYOR_DB_URL") -> None:
    if current_revision(engine) is None:
        return
    with engine.connect() as conn:
        for table in _tables(conn):
            if only is not None and table.name not in only:
                continue
            if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar():
                raise BadInputError(f"The metadata store at {mask(url)} is not empty (table {table.name}).",
                                    field=field, hint="Restore into a fresh database.")


def check_restore_target(db_url: str, predictions_url: str | None = None) -> None:
    """Refuse a restore target that is not fresh, before anything is written: the metadata store must be empty,
    so must a prediction log of its own, and no Parquet segment may wait beside a SQLite log (a later reader would
    drain it into the restored table: rows the backup never had)."""
    for url, only, field in ((db_url, None, "CONVEYOR_DB_URL"),
                             *([(predictions_url, {"predictions"}, "CONVEYOR_PREDICTIONS_URL")]
                               if predictions_url and predictions_url != db_url else [])):
        engine = create_engine(url)
        try:
            _empty(engine, url, only, field=field)
        finally:
            engine.dispose()
    folder = segment_folder_for(predictions_url or db_url)
    if folder is not None and folder.is_dir() and any(folder.iterdir()):
        raise BadInputError(
            f"{folder} holds prediction log segments of another state of this database; restoring would let the "
            "next reader drain them into the restored prediction log.",
            field="CONVEYOR_PREDICTIONS_URL" if predictions_url and predictions_url != db_url else "CONVEYOR_DB_URL",
            hint=f"Move {folder} away (its predictions are not in the backup), or restore into a fresh folder.")


def _reset_sequences(conn: sa.Connection) -> None:
    """PostgreSQL: after rows arrive with their ids, the id sequences continue after the largest."""
    for table in _tables(conn):
        for column in table.primary_key.columns:
            sequence = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": table.name, "c": column.name}).scalar()
            if sequence:
                conn.execute(sa.text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM '
                                     f'"{table.name}"), 0) + 1, false)'), {"s": sequence})


def _load(snapshot: Path, url: str, only: set[str] | None = None) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="conveyor-restore-") as scratch:
        copy = Path(scratch) / "snapshot.sqlite"
        shutil.copyfile(snapshot, copy)
        source = create_engine(f"sqlite:///{copy}")
        target = create_engine(url)
        try:
            upgrade(source)  # a backup of an older schema is brought up to this conveyor's first
            upgrade(target)
            with source.connect() as src, target.begin() as dst:
                counts = _copy(src, dst, only)
                if target.dialect.name == "postgresql":
                    _reset_sequences(dst)
            return counts
        finally:
            source.dispose()
            target.dispose()


def restore_stores(src: Path, *, db_url: str, artifacts_url: str, predictions_url: str | None = None
                   ) -> dict[str, Any]:
    """Rebuild the stores from the backup ``src`` into an empty database and artifact store."""
    src = Path(src)
    manifest = read_manifest(src)
    check_restore_target(db_url, predictions_url)
    tables = _load(src / "metadata.sqlite", db_url)
    if (src / "predictions.sqlite").exists():
        tables["predictions"] = _load(src / "predictions.sqlite", predictions_url or db_url,
                                      {"predictions"}).get("predictions", 0)
    store = open_artifact_store(artifacts_url)
    objects = 0
    for name, path in _objects(src / "artifacts"):
        store._write(name, path.read_bytes())
        objects += 1
    return {"tables": tables, "artifacts": objects, "manifest": manifest}
