"""The SQLite online store (the default): one table keyed by (view, key), WAL, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.features.online.base import OnlineStore

SCHEMA = ("CREATE TABLE IF NOT EXISTS online_features (view TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
          "PRIMARY KEY (view, key)) WITHOUT ROWID")
CHUNK = 500  # keys per IN (...) query, below SQLite's variable limit


class SqliteOnlineStore(OnlineStore):
    name = "sqlite"

    def __init__(self, url: str, *, namespace: str = "conveyor") -> None:
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._connection() as db:
            db.execute(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    def write(self, view: str, items: Mapping[str, str]) -> None:
        with self._connection() as db:
            db.executemany("INSERT INTO online_features (view, key, value) VALUES (?, ?, ?) "
                           "ON CONFLICT (view, key) DO UPDATE SET value = excluded.value",
                           [(view, k, v) for k, v in items.items()])

    def read(self, view: str, keys: Sequence[str]) -> list[str | None]:
        db = self._connection()
        found: dict[str, str] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start:start + CHUNK])
            marks = ",".join("?" * len(chunk))
            found.update(db.execute(f"SELECT key, value FROM online_features WHERE view = ? AND key IN ({marks})",
                                    [view, *chunk]).fetchall())
        return [found.get(k) for k in keys]

    def clear(self, view: str) -> None:
        with self._connection() as db:
            db.execute("DELETE FROM online_features WHERE view = ?", (view,))

    def close(self) -> None:
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
