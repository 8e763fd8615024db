"""The datasets role on the embedded SQLite store through the standard library's ``sqlite3``: no SQLAlchemy, no
Alembic (importing those costs more than versioning a folder of small files). ``conveyor data add`` uses it when
the project's store is a SQLite file already at the newest schema (:func:`open_current`); anything else (another
URL, a store to create or migrate) goes through :class:`~conveyor.store.sql.datasets.SqlDatasetStore`.

It reads and writes table ``dataset_versions`` exactly as the SQL role does: the same columns, JSON columns as the
text ``json.dumps(value, allow_nan=False)`` that SQLAlchemy's JSON type stores with Conveyor's serializer, one
``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per version in one transaction, the same connection pragmas (WAL,
busy timeout), and the same queries for the newest version and a version prefix. Rows written by either are read
back alike by both (``tests/store/test_sqlite_datasets.py``), and the dataset store contract runs on it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

from conveyor.core.entities import DatasetVersion
from conveyor.store.datasets import LATEST, DatasetStore

__all__ = ["SqliteDatasetStore", "open_current", "schema_revision", "sqlite_file"]

_COLUMNS = ("name", "version", "artifact", "rows", "columns", "profile", "source", "created_at", "parents", "meta")
_JSON = frozenset({"columns", "profile", "parents", "meta"})
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM dataset_versions"


def sqlite_file(url: str) -> str | None:
    """The database file of a plain ``sqlite:///PATH`` URL (what a project uses by default), else None: other
    drivers, query options, in-memory or ``file:`` URIs are left to SQLAlchemy."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    path = url[len("sqlite:///"):]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path


def schema_revision(path: str) -> str | None:
    """The Alembic revision recorded in the SQLite file at ``path``; None when it has none (or is no database)."""
    if not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def open_current(url: str) -> SqliteDatasetStore | None:
    """The datasets role on ``url`` without SQLAlchemy when it is a SQLite file at the newest schema revision;
    None when the full SQL store must open it (another backend, or a schema to create or upgrade)."""
    from conveyor.store.migrate import HEAD

    path = sqlite_file(url)
    if path is None or schema_revision(path) != HEAD:
        return None
    return SqliteDatasetStore(path, url)


def _dataset(row: tuple[Any, ...]) -> DatasetVersion:
    value = dict(zip(_COLUMNS, row, strict=True))
    for key in _JSON:
        value[key] = json.loads(value[key])
    return DatasetVersion(value["name"], value["version"], value["artifact"], value["rows"], value["columns"],
                          value["profile"], value["source"], value["created_at"], value["parents"], value["meta"])


def _escape_like(prefix: str) -> str:
    """A LIKE pattern matching ``prefix`` literally (``/`` escapes, as SQLAlchemy's ``autoescape`` does)."""
    return prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


class SqliteDatasetStore(DatasetStore):
    """Dataset versions in an existing, current SQLite store (see the module docstring); one connection behind a
    lock, so every method is safe to call from several threads."""

    def __init__(self, path: str, url: str | None = None) -> None:
        self.url = url or f"sqlite:///{path}"
        self._lock = threading.Lock()
        # autocommit mode: transactions are begun and ended here, explicitly
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
            self._conn.execute(f"PRAGMA {pragma}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[DatasetVersion]:
        with self._lock:
            return [_dataset(r) for r in self._conn.execute(sql, params).fetchall()]

    def add_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        row = tuple(json.dumps(getattr(dv, c), allow_nan=False) if c in _JSON else getattr(dv, c) for c in _COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")  # the write lock first: the insert and the read agree
            try:
                inserted = self._conn.execute(
                    f"INSERT INTO dataset_versions ({', '.join(_COLUMNS)}) VALUES ({marks}) "
                    "ON CONFLICT DO NOTHING RETURNING version", row).fetchone()
                existing = None if inserted is not None else self._conn.execute(
                    f"{_SELECT} WHERE name = ? AND version = ?", (dv.name, dv.version)).fetchone()
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        return (dv, True) if existing is None else (_dataset(existing), False)

    def versions(self, name: str | None = None) -> list[DatasetVersion]:
        if name is None:
            return self._query(f"{_SELECT} ORDER BY created_at")
        return self._query(f"{_SELECT} WHERE name = ? ORDER BY created_at", (name,))

    def _candidates(self, name: str, version: str) -> list[DatasetVersion]:
        if version in LATEST:
            return self._query(f"{_SELECT} WHERE name = ? ORDER BY created_at DESC LIMIT 1", (name,))
        return self._query(f"{_SELECT} WHERE name = ? AND version LIKE ? ESCAPE '/' LIMIT 2",
                           (name, _escape_like(version)))

    def names(self) -> list[str]:
        with self._lock:
            return sorted(r[0] for r in self._conn.execute("SELECT DISTINCT name FROM dataset_versions"))
