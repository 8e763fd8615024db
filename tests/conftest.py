"""Fixtures shared by every test package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from conveyor.store import Stores
from conveyor.testing.postgres import postgres_server
from conveyor.testing.ray import RayCluster, ray_cluster
from conveyor.testing.s3 import S3Server, s3_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the two-node Ray cluster is ``serial``: scripts/test.sh runs it after the parallel part, alone, so
    that one cluster at a time runs on the machine (a second one's node fails to join under xdist)."""
    for item in items:
        if "ray_two_nodes" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One throwaway PostgreSQL server for the whole session (started on first use).

    Never skipped: if the server cannot start, the error fails the tests that asked for it.
    """
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One S3-compatible server (moto's, a subprocess on 127.0.0.1) for the whole session, killed at the end."""
    with s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def ray_two_nodes() -> Iterator[RayCluster]:
    """A two-node Ray cluster on 127.0.0.1 (1 CPU each, the head with one logical GPU) for the whole session; its
    workers import conveyor from this checkout. Every process of it is ended at the end."""
    with ray_cluster(str(Path(__file__).resolve().parents[1] / "src")) as cluster:
        yield cluster


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The session's S3 server, with this process's AWS settings (endpoint, test credentials) pointing at it."""
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    return s3


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.engine.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def stores(tmp_path) -> Iterator[Stores]:
    """The embedded default: a fresh SQLite metadata store and a local artifact folder."""
    opened = Stores.open(f"sqlite:///{tmp_path / 'meta.db'}", str(tmp_path / "artifacts"))
    yield opened
    opened.close()
