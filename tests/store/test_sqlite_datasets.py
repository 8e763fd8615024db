"""The datasets role on plain sqlite3 (the `data add` fast path): the dataset store contract, the same rows as the
SQLAlchemy role writes (read back through either), and it opens only a SQLite store already at the newest schema."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.data.files import add_files, read_manifest
from conveyor.store import Stores, open_metadata_roles
from conveyor.store.datasets import DatasetStore
from conveyor.store.local_artifacts import LocalArtifactStore
from conveyor.store.migrate import HEAD
from conveyor.store.sqlite_datasets import SqliteDatasetStore, open_current, schema_revision, sqlite_file
from conveyor.testing.dataset_store_contract import DatasetStoreContract
from conveyor.testing.store_records import NESTED, dataset


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """One empty store at the newest schema, migrated once; each test works on a copy."""
    path = tmp_path_factory.mktemp("template") / "meta.db"
    open_metadata_roles(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def db_path(migrated: Path, tmp_path: Path) -> Path:
    path = tmp_path / "meta.db"
    shutil.copy(migrated, path)
    return path


@pytest.fixture
def dataset_store(db_path: Path) -> Iterator[DatasetStore]:
    store = open_current(f"sqlite:///{db_path}")
    assert isinstance(store, SqliteDatasetStore)
    yield store
    store.close()


class TestSqlite3Datasets(DatasetStoreContract):
    pass


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM dataset_versions ORDER BY name, version").fetchall()


def test_each_reads_what_the_other_wrote_row_for_row(db_path: Path, tmp_path: Path) -> None:
    """A version written by the sqlite3 role and the same version written by the SQLAlchemy role are the same
    row, byte for byte (JSON text included), and each role reads the other's back equal."""
    fast = SqliteDatasetStore(str(db_path))
    sql_path = tmp_path / "sql.db"
    shutil.copy(db_path, sql_path)
    roles = open_metadata_roles(f"sqlite:///{sql_path}")
    try:
        for dv in (dataset(meta={"nested": NESTED, "changes": {"added": ["a/b.txt"]}}, parents=["raw@1"]),
                   dataset("wine", version="e" * 64, source="ü.csv")):
            assert fast.add_version(dv) == (dv, True)
            assert roles.datasets.add_version(dv) == (dv, True)
        assert _rows(db_path) == _rows(sql_path)
        cross = SqliteDatasetStore(str(sql_path))
        assert cross.versions() == roles.datasets.versions()
        cross.close()
    finally:
        roles.close()
        fast.close()
    back = open_metadata_roles(f"sqlite:///{db_path}")  # the full store reads the fast path's rows
    try:
        assert [v.name for v in back.datasets.versions()] == ["iris", "wine"]
        assert back.datasets.get_version("iris").meta["nested"] == NESTED
    finally:
        back.close()


def test_adding_a_folder_through_either_path_gives_the_same_version(db_path: Path, tmp_path: Path) -> None:
    """`add_files` on the fast stores (sqlite3 + local folder) and on the full Stores: the same version id, row,
    manifest and blobs, read back through the normal store API; and either sees the other's version as unchanged."""
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"alpha")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 5000)  # above the packing size: a blob of its own
    artifacts = tmp_path / "artifacts"
    sql_path = tmp_path / "sql.db"
    shutil.copy(db_path, sql_path)

    class Fast:
        datasets = SqliteDatasetStore(str(db_path))
        artifacts = LocalArtifactStore(str(tmp_path / "fast-artifacts"))

    fast_version, created = add_files(Fast, str(folder), "docs")
    assert created
    full = Stores.open(f"sqlite:///{sql_path}", str(artifacts))
    try:
        full_version, created = add_files(full, str(folder), "docs")
        assert created
        assert full_version.version == fast_version.version
        assert Fast.artifacts.digests() == full.artifacts.digests()
        # the fast path's row, read through the SQL store, equals the full path's (but for its timestamp)
        back = Stores.open(f"sqlite:///{db_path}", str(tmp_path / "fast-artifacts"))
        try:
            mine = back.datasets.get_version("docs", fast_version.version)
            theirs = full.datasets.get_version("docs", full_version.version)
            assert {**vars(mine), "created_at": 0} == {**vars(theirs), "created_at": 0}
            assert read_manifest(back, mine) == read_manifest(full, theirs)
            again, created = add_files(back, str(folder), "docs")  # the full path sees the fast path's version
            assert not created and again.version == fast_version.version
        finally:
            back.close()
        again, created = add_files(Fast, str(folder), "docs")
        assert not created and again == fast_version
    finally:
        full.close()
        Fast.datasets.close()


def test_only_a_plain_sqlite_file_at_head_opens(migrated: Path, tmp_path: Path) -> None:
    assert schema_revision(str(migrated)) == HEAD
    assert sqlite_file("sqlite:////abs/meta.db") == "/abs/meta.db"
    for url in ("postgresql://u@h/db", "sqlite://", "sqlite:///:memory:", "sqlite:///x.db?mode=ro",
                "sqlite+pysqlite:///x.db", "memory://"):
        assert sqlite_file(url) is None
        assert open_current(url) is None
    assert open_current(f"sqlite:///{tmp_path / 'missing.db'}") is None  # to create: the full store does it
    assert not (tmp_path / "missing.db").exists()
    old = tmp_path / "old.db"
    shutil.copy(migrated, old)
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    assert open_current(f"sqlite:///{old}") is None  # to migrate: the full store does it
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 10)
    assert open_current(f"sqlite:///{tmp_path / 'junk.db'}") is None
