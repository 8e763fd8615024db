"""The metadata roles opened together on one URL, and the in-memory set.

A metadata backend (see :mod:`conveyor.store.backends`) opens a :class:`MetadataRoles`: one object per role, all on
the same database (so a SQL backend shares one engine, one connection pool and one schema migration among them),
plus how to release it. :class:`~conveyor.store.stores.Stores` takes its roles from one set, or a role from another
set when that role has its own URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conveyor.store.approvals import ApprovalStore, InMemoryApprovalStore
from conveyor.store.connections import ConnectionStore, InMemoryConnectionStore
from conveyor.store.datasets import DatasetStore, InMemoryDatasetStore
from conveyor.store.features import FeatureViewStore, InMemoryFeatureViewStore
from conveyor.store.identities import IdentityStore, InMemoryIdentityStore
from conveyor.store.leases import InMemoryLeaseStore, LeaseStore
from conveyor.store.monitoring import InMemoryMonitoringStore, MonitoringStore
from conveyor.store.pipelines import InMemoryPipelineStore, PipelineStore
from conveyor.store.predictions import InMemoryPredictionStore, PredictionStore
from conveyor.store.registry import InMemoryRegistryStore, RegistryStore
from conveyor.store.runs import InMemoryRunStore, RunStore

__all__ = ["ROLE_NAMES", "MetadataRoles", "memory_roles"]

ROLE_NAMES = ("datasets", "runs", "registry", "predictions", "monitoring", "leases", "identities", "approvals",
              "features", "pipelines", "connections")


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class MetadataRoles:
    """One store per role, opened on ``url``; ``close()`` releases what they share (connections)."""

    url: str
    datasets: DatasetStore
    runs: RunStore
    registry: RegistryStore
    predictions: PredictionStore
    monitoring: MonitoringStore
    leases: LeaseStore
    identities: IdentityStore
    approvals: ApprovalStore
    features: FeatureViewStore
    pipelines: PipelineStore
    connections: ConnectionStore
    closer: Callable[[], None] = _nothing

    def close(self) -> None:
        self.closer()


def memory_roles(url: str = "memory://") -> MetadataRoles:
    """A fresh, empty in-memory set: for tests, examples and throwaway sessions."""
    return MetadataRoles(url, InMemoryDatasetStore(url), InMemoryRunStore(url), InMemoryRegistryStore(url),
                         InMemoryPredictionStore(url), InMemoryMonitoringStore(url), InMemoryLeaseStore(url),
                         InMemoryIdentityStore(url), InMemoryApprovalStore(url), features=InMemoryFeatureViewStore(url),
                         pipelines=InMemoryPipelineStore(url), connections=InMemoryConnectionStore(url))
