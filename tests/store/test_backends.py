"""Store URLs resolve through the ``conveyor.stores`` registry; roles compose into ``Stores``; no message shows a
password."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.core.errors import BadInputError, MissingDependencyError
from conveyor.store import (
    STORE_BACKENDS,
    InMemoryArtifactStore,
    MetadataRoles,
    StoreBackend,
    Stores,
    memory_roles,
    open_artifact_store,
    open_metadata_roles,
)
from conveyor.store.urls import mask, redact, scheme_of
from conveyor.testing.store_records import T0, dataset, prediction


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://ana:s3cret@db.example:5432/conveyor", "postgresql://ana:***@db.example:5432/conveyor"),
    ("postgresql+psycopg://ana:p%40ss@db/x", "postgresql+psycopg://ana:***@db/x"),
    ("mysql://u:pa@ss@h/db", "mysql://u:***@h/db"),  # an unescaped "@" in the password
    ("s3://KEY:SECRET@bucket/prefix", "s3://KEY:***@bucket/prefix"),
    ("postgresql://db/x?user=ana&password=s3cret&sslmode=require",
     "postgresql://db/x?user=ana&password=***&sslmode=require"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("postgresql://ana@db/x", "postgresql://ana@db/x"),
    ("/data/artifacts", "/data/artifacts"),
])
def test_mask_hides_passwords(url: str, shown: str) -> None:
    assert mask(url) == shown


def test_redact_removes_a_password_from_any_text() -> None:
    assert redact("login as ana with s3cret failed", "postgresql://ana:s3cret@h/db") == "login as ana with *** failed"
    assert redact("p@ss and p%40ss", "postgresql://ana:p%40ss@h/db") == "*** and ***"
    assert redact("nothing to hide", "sqlite:////x.db") == "nothing to hide"


def test_scheme_of() -> None:
    assert [scheme_of(u) for u in ["sqlite:///x", "PostgreSQL+psycopg://h/d", "/a/b", "C:\\data", "s3://b/p"]] == [
        "sqlite", "postgresql+psycopg", "file", "file", "s3"]


def test_built_in_schemes_are_registered() -> None:
    for scheme in ["memory", "sqlite", "postgresql", "postgresql+psycopg", "file", "s3"]:
        assert scheme in STORE_BACKENDS
        assert STORE_BACKENDS.origin(scheme) == "conveyor"


@pytest.mark.parametrize("url", ["mongodb://ana:hunter2@localhost/db", "mysql://u:hunter2@h/db", "not-a-url",
                                 "postgresql+psycopg2://ana:hunter2@h/db", "s3://bucket/meta"])
def test_an_unknown_metadata_scheme_is_bad_input_without_the_password(url: str) -> None:
    with pytest.raises(BadInputError, match="Unsupported metadata store URL") as raised:
        open_metadata_roles(url)
    error = raised.value
    assert error.field == "CONVEYOR_DB_URL"
    assert "hunter2" not in str(error) and "hunter2" not in repr(error.to_dict())
    assert "memory, postgresql, postgresql+psycopg, sqlite" in str(error)
    assert repr(scheme_of(url)) in str(error)


def test_an_unknown_artifact_scheme_names_the_field_and_known_schemes() -> None:
    with pytest.raises(BadInputError, match="Unsupported artifact store URL 'gopher://u:\\*\\*\\*@h/x'") as raised:
        open_artifact_store("gopher://u:hunter2@h/x", field="artifacts")
    assert raised.value.field == "artifacts"
    assert "file, memory, s3" in str(raised.value) and "hunter2" not in str(raised.value)
    with pytest.raises(BadInputError, match="no artifact store backend for the scheme 'sqlite'"):
        open_artifact_store("sqlite:///x.db")


def test_s3_without_its_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as on a core install: `import s3fs` raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'conveyor-mlops\[s3\]'"):
        open_artifact_store("s3://bucket/prefix")


def test_a_plug_in_backend_serves_a_new_scheme(tmp_path: Path) -> None:
    opened: list[str] = []

    def open_roles(url: str) -> MetadataRoles:
        opened.append(url)
        return memory_roles(url)

    STORE_BACKENDS.register("plugged", StoreBackend(metadata=open_roles,
                                                    artifacts=lambda _url: InMemoryArtifactStore()))
    try:
        stores = Stores.open("plugged://meta", "plugged://blobs")
        assert opened == ["plugged://meta"] and stores.url == "plugged://meta"
        assert isinstance(stores.artifacts, InMemoryArtifactStore)
        stores.datasets.add_version(dataset())
        assert stores.datasets.names() == ["iris"]
    finally:
        STORE_BACKENDS.unregister("plugged")


def test_a_backend_that_is_not_a_store_backend_is_refused() -> None:
    STORE_BACKENDS.register_lazy("broken", "conveyor.store.urls:mask", origin="broken-plugin")
    try:
        with pytest.raises(BadInputError, match="not a StoreBackend"):
            open_metadata_roles("broken://x")
    finally:
        STORE_BACKENDS.unregister("broken")


@pytest.fixture
def two_sqlite_stores(tmp_path: Path) -> Iterator[tuple[Stores, str, str]]:
    main, log = f"sqlite:///{tmp_path / 'main.db'}", f"sqlite:///{tmp_path / 'predictions.db'}"
    stores = Stores.open(main, str(tmp_path / "artifacts"), predictions_url=log)
    yield stores, main, log
    stores.close()


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_the_prediction_log_can_live_in_its_own_store(two_sqlite_stores: tuple[Stores, str, str]) -> None:
    stores, main, log = two_sqlite_stores
    assert stores.predictions.url == log and stores.runs.url == main and stores.url == main
    stores.predictions.log([prediction("churn:1", T0)])  # the deprecated facade goes to the same role
    stores.predictions.log([prediction("churn:1", T0 + 1)])
    stores.datasets.add_version(dataset())
    assert _count(log, "predictions") == 2 and _count(main, "predictions") == 0
    assert _count(main, "dataset_versions") == 1 and _count(log, "dataset_versions") == 0
    assert len(stores.predictions.recent("churn")) == 2


def test_a_bad_predictions_url_names_its_own_setting(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as raised:
        Stores.open(f"sqlite:///{tmp_path / 'm.db'}", str(tmp_path / "a"), predictions_url="redis://h:6379/0")
    assert raised.value.field == "CONVEYOR_PREDICTIONS_URL"


def test_stores_close_each_backend_once() -> None:
    closed: list[str] = []
    main = memory_roles()
    log = memory_roles()
    main = MetadataRoles(**{**main.__dict__, "closer": lambda: closed.append("main")})
    log = MetadataRoles(**{**log.__dict__, "closer": lambda: closed.append("log")})
    stores = Stores.from_roles(main, InMemoryArtifactStore(), predictions=log)
    stores.close()
    assert closed == ["main", "log"]


def test_in_memory_stores_are_fresh_each_time() -> None:
    first, second = Stores.in_memory(), Stores.in_memory()
    first.datasets.add_version(dataset())
    assert second.datasets.versions() == []


def test_a_backend_installed_as_an_entry_point_is_found(tmp_path: Path) -> None:
    """A distribution that declares ``[project.entry-points."conveyor.stores"]`` adds its scheme, found through
    importlib.metadata in a fresh interpreter (no registration call anywhere)."""
    (tmp_path / "toy_store.py").write_text(textwrap.dedent("""
        from conveyor.store import InMemoryArtifactStore, StoreBackend, memory_roles
        BACKEND = StoreBackend(metadata=lambda url: memory_roles(url), artifacts=lambda url: InMemoryArtifactStore())
    """))
    info = tmp_path / "toy_store-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-store\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[conveyor.stores]\ntoy = toy_store:BACKEND\n")
    script = textwrap.dedent("""
        from conveyor.store import STORE_BACKENDS, Stores
        stores = Stores.open("toy://meta", "toy://blobs")
        print(type(stores.runs).__name__, stores.url, STORE_BACKENDS.origin("toy"))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["InMemoryRunStore", "toy://meta", "toy-store"]
