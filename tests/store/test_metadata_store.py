"""The metadata store contract on every backend, plus what only the SQL backends can show."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.core.entities import AuditNote, Run
from conveyor.core.errors import BadInputError, IntegrityError, StoreError
from conveyor.store import migrate, open_metadata_store
from conveyor.store.metadata import InMemoryMetadataStore, MetadataStore
from conveyor.store.sql import SqlMetadataStore
from conveyor.testing.metadata_contract import MetadataStoreContract, model


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    # Only tests that ask for PostgreSQL start the (session-wide) server.
    return str(request.getfixturevalue("postgres_db_url"))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def metadata_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetadataStore]:
    store = open_metadata_store(_url(request.param, tmp_path, request))
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlMetadataStore]:
    store = SqlMetadataStore(_url(request.param, tmp_path, request))
    yield store
    store.close()


class TestMetadataContract(MetadataStoreContract):
    pass


def test_backends_are_what_they_claim(metadata_store: MetadataStore) -> None:
    expected = InMemoryMetadataStore if metadata_store.url == "memory://" else SqlMetadataStore
    assert type(metadata_store) is expected


def _audit_rows(store: MetadataStore, n: int) -> None:
    for i in range(1, n + 1):
        store.append_audit("alice", "promote", f"churn:{i}", {"version": i})
    assert store.verify_audit() == n


def test_verify_audit_finds_an_edited_row(sql_store: SqlMetadataStore) -> None:
    _audit_rows(sql_store, 4)
    with sql_store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit SET details = :d WHERE seq = 3"), {"d": '{"version": 99}'})
    with pytest.raises(IntegrityError, match=r"Audit row 3 \(promote churn:3\) was altered"):
        sql_store.verify_audit()


def test_verify_audit_finds_a_deleted_row(sql_store: SqlMetadataStore) -> None:
    _audit_rows(sql_store, 4)
    with sql_store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 2"))
    with pytest.raises(IntegrityError, match=r"missing row 2 \(next row is 3\)"):
        sql_store.verify_audit()


def test_reopened_sqlite_store_keeps_data_without_migrating(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    store = open_metadata_store(url)
    store.create_run(Run("r" * 32, "kept", params={"a": "1"}))
    store.append_audit("alice", "create", "run", {})
    store.close()

    def no_migrations(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a store at head must not be migrated again")

    from alembic import command

    monkeypatch.setattr(command, "upgrade", no_migrations)
    reopened = open_metadata_store(url)
    try:
        assert reopened.get_run("r" * 32).params == {"a": "1"}
        assert reopened.verify_audit() == 1
        assert isinstance(reopened, SqlMetadataStore)
        with reopened.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [migrate.head_revision()]
        assert migrate.current_revision(reopened.engine) == migrate.head_revision()
    finally:
        reopened.close()


@pytest.mark.parametrize("url", ["mongodb://localhost/db", "mysql://u@h/db", "not-a-url"])
def test_unknown_scheme_is_bad_input(url: str) -> None:
    with pytest.raises(BadInputError, match="Unsupported metadata store URL") as raised:
        open_metadata_store(url)
    assert raised.value.field == "CONVEYOR_DB_URL"
    assert "sqlite://" in str(raised.value)


def test_a_store_from_a_newer_conveyor_is_refused_with_a_fix(tmp_path):
    url = f"sqlite:///{tmp_path / 'future.db'}"
    SqlMetadataStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer conveyor"):
        SqlMetadataStore(url)


def test_nan_in_a_json_field_is_refused_alike_on_sqlite_and_postgresql(sql_store: SqlMetadataStore) -> None:
    run = sql_store.create_run(Run(id="nanrun", name="n"))
    with pytest.raises((sa.exc.StatementError, ValueError), match="Out of range float"):
        sql_store.append_audit("me", "act", "subject", {"score": float("nan")})
    assert sql_store.list_audit() == []
    assert sql_store.get_run(run.id).status == "running"


def test_an_alias_change_is_undone_when_its_audit_row_cannot_be_written(sql_store: SqlMetadataStore) -> None:
    sql_store.create_model_version(model("atomic"))
    with pytest.raises((sa.exc.StatementError, ValueError)):
        sql_store.set_alias("atomic", "champion", 1, audit=AuditNote("ana", "promote", {"bad": float("inf")}))
    assert sql_store.aliases("atomic") == {}
    assert sql_store.alias_history("atomic", "champion") == []
    assert sql_store.list_audit() == []


def test_the_cached_head_revision_is_the_newest_migration():
    assert migrate.head_revision() == migrate.HEAD
