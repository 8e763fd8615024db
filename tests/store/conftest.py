"""One parametrized fixture for every metadata role: in memory, SQLite, and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.store import open_metadata_roles
from conveyor.store.approvals import ApprovalStore
from conveyor.store.connections import ConnectionStore
from conveyor.store.datasets import DatasetStore
from conveyor.store.features import FeatureViewStore
from conveyor.store.identities import IdentityStore
from conveyor.store.leases import LeaseStore
from conveyor.store.monitoring import MonitoringStore
from conveyor.store.pipelines import PipelineStore
from conveyor.store.predictions import PredictionStore
from conveyor.store.registry import RegistryStore
from conveyor.store.roles import MetadataRoles
from conveyor.store.runs import RunStore

BACKENDS = ["memory", "sqlite", "postgresql"]


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    # Only tests that ask for PostgreSQL start the (session-wide) server.
    return str(request.getfixturevalue("postgres_db_url"))


@pytest.fixture(params=BACKENDS)
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty metadata store on each backend."""
    return _url(request.param, tmp_path, request)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty SQL database on each SQL backend."""
    return _url(request.param, tmp_path, request)


@pytest.fixture
def roles(metadata_url: str) -> Iterator[MetadataRoles]:
    opened = open_metadata_roles(metadata_url)
    yield opened
    opened.close()


@pytest.fixture
def dataset_store(roles: MetadataRoles) -> DatasetStore:
    return roles.datasets


@pytest.fixture
def run_store(roles: MetadataRoles) -> RunStore:
    return roles.runs


@pytest.fixture
def registry_store(roles: MetadataRoles) -> RegistryStore:
    return roles.registry


@pytest.fixture
def prediction_store(roles: MetadataRoles) -> PredictionStore:
    return roles.predictions


@pytest.fixture
def monitoring_store(roles: MetadataRoles) -> MonitoringStore:
    return roles.monitoring


@pytest.fixture
def lease_store(roles: MetadataRoles) -> LeaseStore:
    return roles.leases


@pytest.fixture
def identity_store(roles: MetadataRoles) -> IdentityStore:
    return roles.identities


@pytest.fixture
def approval_store(roles: MetadataRoles) -> ApprovalStore:
    return roles.approvals


@pytest.fixture
def feature_view_store(roles: MetadataRoles) -> FeatureViewStore:
    return roles.features


@pytest.fixture
def pipeline_store(roles: MetadataRoles) -> PipelineStore:
    return roles.pipelines


@pytest.fixture
def connection_store(roles: MetadataRoles) -> ConnectionStore:
    return roles.connections
