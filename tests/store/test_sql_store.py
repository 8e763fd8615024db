"""What only the SQL backend can show: edits behind its back, migrations, JSON strictness, transactions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.core.entities import AuditNote, Run
from conveyor.core.errors import IntegrityError, StoreError
from conveyor.store import migrate
from conveyor.store.roles import ROLE_NAMES, MetadataRoles
from conveyor.store.sql import SqlDatabase, sql_roles
from conveyor.testing.store_records import dataset, model


@pytest.fixture
def sql(sql_url: str) -> Iterator[MetadataRoles]:
    roles = sql_roles(sql_url)
    yield roles
    roles.close()


def _engine(roles: MetadataRoles) -> sa.Engine:
    db = roles.registry.db  # type: ignore[attr-defined]
    assert isinstance(db, SqlDatabase)
    return db.engine


def _audit_rows(roles: MetadataRoles, n: int) -> None:
    for i in range(1, n + 1):
        roles.registry.append_audit("alice", "promote", f"churn:{i}", {"version": i})
    assert roles.registry.verify_audit() == n


def test_the_roles_of_one_url_share_one_engine(sql: MetadataRoles) -> None:
    assert len({id(getattr(sql, role).db.engine) for role in ROLE_NAMES}) == 1


def test_verify_audit_finds_an_edited_row(sql: MetadataRoles) -> None:
    _audit_rows(sql, 4)
    with _engine(sql).begin() as conn:
        conn.execute(sa.text("UPDATE audit SET details = :d WHERE seq = 3"), {"d": '{"version": 99}'})
    with pytest.raises(IntegrityError, match=r"Audit row 3 \(promote churn:3\) was altered"):
        sql.registry.verify_audit()


def test_verify_audit_finds_a_deleted_row(sql: MetadataRoles) -> None:
    _audit_rows(sql, 4)
    with _engine(sql).begin() as conn:
        conn.execute(sa.text("DELETE FROM audit WHERE seq = 2"))
    with pytest.raises(IntegrityError, match=r"missing row 2 \(next row is 3\)"):
        sql.registry.verify_audit()


def test_a_repeated_dataset_version_is_not_reported_new(sql: MetadataRoles) -> None:
    """ON CONFLICT DO NOTHING that skipped its row: psycopg's rowcount says 1, RETURNING says nothing came back."""
    dv = dataset(version="e" * 64)
    assert sql.datasets.add_version(dv)[1] is True
    assert sql.datasets.add_version(dataset(version="e" * 64, source="again.csv"))[1] is False
    with _engine(sql).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM dataset_versions")).scalar() == 1


def test_reopened_sqlite_store_keeps_data_without_migrating(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    roles = sql_roles(url)
    roles.runs.create(Run("r" * 32, "kept", params={"a": "1"}))
    roles.registry.append_audit("alice", "create", "run", {})
    roles.close()

    def no_migrations(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a store at head must not be migrated again")

    from alembic import command

    monkeypatch.setattr(command, "upgrade", no_migrations)
    reopened = sql_roles(url)
    try:
        assert reopened.runs.get("r" * 32).params == {"a": "1"}
        assert reopened.registry.verify_audit() == 1
        engine = _engine(reopened)
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [migrate.head_revision()]
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        reopened.close()


def test_a_store_from_a_newer_conveyor_is_refused_with_a_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    sql_roles(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer conveyor"):
        sql_roles(url)


def test_nan_in_a_json_field_is_refused_alike_on_sqlite_and_postgresql(sql: MetadataRoles) -> None:
    run = sql.runs.create(Run(id="nanrun", name="n"))
    with pytest.raises((sa.exc.StatementError, ValueError), match="Out of range float"):
        sql.registry.append_audit("me", "act", "subject", {"score": float("nan")})
    assert sql.registry.audit_log() == []
    assert sql.runs.get(run.id).status == "running"


def test_an_alias_change_is_undone_when_its_audit_row_cannot_be_written(sql: MetadataRoles) -> None:
    sql.registry.create_version(model("atomic"))
    with pytest.raises((sa.exc.StatementError, ValueError)):
        sql.registry.set_alias("atomic", "champion", 1, audit=AuditNote("ana", "promote", {"bad": float("inf")}))
    assert sql.registry.aliases("atomic") == {}
    assert sql.registry.alias_history("atomic", "champion") == []
    assert sql.registry.audit_log() == []


def test_a_model_version_is_undone_when_its_audit_row_cannot_be_written(sql: MetadataRoles) -> None:
    with pytest.raises((sa.exc.StatementError, ValueError)):
        sql.registry.create_version(model("atomic"), audit=AuditNote("ana", "register", {"bad": float("nan")}))
    assert sql.registry.versions("atomic") == []
    assert sql.registry.audit_log() == []


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError, match="Cannot open the metadata store") as raised:
        sql_roles("postgresql://ana:s3cr3t-pw@127.0.0.1:9/nowhere?connect_timeout=2")
    assert "s3cr3t-pw" not in str(raised.value)
    assert "ana:***@127.0.0.1" in str(raised.value)



def test_the_cached_head_revision_is_the_newest_migration() -> None:
    assert migrate.head_revision() == migrate.HEAD
