"""Every metadata role's contract on every backend (the ``roles`` fixture: memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.store.prediction_segments import SegmentedPredictionStore
from conveyor.store.predictions import PredictionStore
from conveyor.store.roles import ROLE_NAMES, MetadataRoles
from conveyor.testing.approval_store_contract import ApprovalStoreContract
from conveyor.testing.connection_store_contract import ConnectionStoreContract
from conveyor.testing.dataset_store_contract import DatasetStoreContract
from conveyor.testing.feature_view_store_contract import FeatureViewStoreContract
from conveyor.testing.identity_store_contract import IdentityStoreContract
from conveyor.testing.lease_store_contract import LeaseStoreContract
from conveyor.testing.monitoring_store_contract import MonitoringStoreContract
from conveyor.testing.pipeline_store_contract import PipelineStoreContract
from conveyor.testing.prediction_store_contract import PredictionSegmentsContract, PredictionStoreContract
from conveyor.testing.registry_store_contract import RegistryStoreContract
from conveyor.testing.run_store_contract import RunStoreContract


class TestDatasets(DatasetStoreContract):
    pass


class TestRuns(RunStoreContract):
    pass


class TestRegistry(RegistryStoreContract):
    pass


class TestPredictions(PredictionStoreContract):
    pass


class TestMonitoring(MonitoringStoreContract):
    pass


class TestLeases(LeaseStoreContract):
    pass


class TestIdentities(IdentityStoreContract):
    pass


class TestApprovals(ApprovalStoreContract):
    pass


class TestFeatureViews(FeatureViewStoreContract):
    pass


class TestPipelines(PipelineStoreContract):
    pass


class TestConnections(ConnectionStoreContract):
    pass


def test_backends_are_what_they_claim(roles: MetadataRoles) -> None:
    expected = "InMemory" if roles.url == "memory://" else "Sql"
    for role in ROLE_NAMES:
        store = getattr(roles, role)
        assert type(store).__name__.startswith(expected), (role, type(store))
        assert store.url == roles.url


def test_close_is_safe(roles: MetadataRoles) -> None:
    roles.close()


class TestSegmentedPredictions(PredictionStoreContract):
    """The whole prediction-log contract through the segment wrapper (serving writes segments, readers drain)."""

    @pytest.fixture
    def prediction_store(self, roles: MetadataRoles, tmp_path: Path) -> PredictionStore:
        return SegmentedPredictionStore(roles.predictions, tmp_path / "segments")


class TestPredictionSegments(PredictionSegmentsContract):
    pass
