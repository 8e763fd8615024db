"""What the SQL roles share: one engine per URL, its schema migration, dialect-specific inserts, and retries.

SQLite (WAL) by default, PostgreSQL (psycopg 3) through the same SQLAlchemy Core code. Every role of one URL holds
the same :class:`SqlDatabase`, so they share one connection pool and the schema is upgraded once, when it opens.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError, StoreError
from conveyor.core.settings import STATE_DIR
from conveyor.store.migrate import upgrade
from conveyor.store.urls import mask, redact

__all__ = ["SqlDatabase", "create_engine", "strict_json"]

T = TypeVar("T")
Insert = postgresql.Insert | sqlite.Insert


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer, and a commit costs an append instead of a journal rewrite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def strict_json(value: Any) -> str:
    """NaN and infinity have no JSON form: PostgreSQL refuses them and SQLite would store text no parser reads
    back as a number, so both backends refuse them here, alike."""
    return json.dumps(value, allow_nan=False)


def _sqlite_folder(path: Path, url: str) -> None:
    """The project's own state folder (``.conveyor``) is created on first use; any other missing folder is a typo
    that would otherwise open a new, empty store silently."""
    folder = path.parent
    if folder.is_dir():
        return
    if folder.name == STATE_DIR and folder.parent.is_dir():
        folder.mkdir(exist_ok=True)
        return
    raise BadInputError(f"The folder of the SQLite store {mask(url)!r} does not exist: {folder}.",
                        field="CONVEYOR_DB_URL",
                        hint="Fix the path, or create the folder first if a new, empty store is what you want.")


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout (its folder created), or PostgreSQL on psycopg 3."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _sqlite_folder(Path(path), url)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  json_serializer=strict_json)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    require("psycopg", "postgres", field="CONVEYOR_DB_URL")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return sa.create_engine(url, pool_pre_ping=True, json_serializer=strict_json)


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name`` (namespaced, so other applications' keys differ)."""
    return int.from_bytes(hashlib.blake2b(f"conveyor:{name}".encode(), digest_size=8).digest(), "big", signed=True)


class SqlDatabase:
    """One database: its engine (schema brought to the newest migration on open) and the helpers every role uses."""

    RETRIES = 20

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_engine(url)
            upgrade(self.engine)
        except sa.exc.OperationalError as exc:
            raise StoreError(f"Cannot open the metadata store at {mask(url)}: {redact(str(exc.orig), url)}",
                             hint="Check CONVEYOR_DB_URL and that the database server is running.") from None
        self.dialect = self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def insert(self, table: sa.Table) -> Insert:
        """A dialect INSERT that knows ON CONFLICT (both SQLite and PostgreSQL spell it alike)."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def upsert(self, conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
        """Insert ``rows``; a row whose ``keys`` exist replaces the other columns (one statement, executemany)."""
        if rows:
            conn.execute(self._upsert_statement(table, tuple(keys)), list(rows))

    @functools.lru_cache(maxsize=32)  # noqa: B019 - a handful of statements, alive as long as the database
    def _upsert_statement(self, table: sa.Table, keys: tuple[str, ...]) -> sa.Executable:
        stmt = self.insert(table)
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=update)

    def lock(self, conn: sa.Connection, *names: str) -> None:
        """Serialise the transactions that take the same named locks: on PostgreSQL, transaction-scoped advisory
        locks (released at commit or rollback), taken in the order given, before the transaction writes anything
        (always in one order across callers, so two writers cannot deadlock). SQLite serialises writers with its
        database lock; there the primary keys and :meth:`retrying` settle a race."""
        if self.dialect != "postgresql":
            return
        for name in names:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})

    def retrying(self, what: str, work: Callable[[sa.Connection], T], *, locks: Sequence[str] = ()) -> T:
        """Run ``work`` in one transaction (after taking ``locks``, see :meth:`lock`), again when a concurrent
        writer took the same key (a version number or an audit sequence number) first."""
        for attempt in range(self.RETRIES):
            try:
                with self.engine.begin() as conn:
                    self.lock(conn, *locks)
                    return work(conn)
            except sa.exc.IntegrityError:
                time.sleep(0.01 * (attempt + 1))
        raise StoreError(f"Could not {what} under contention; try again.")
