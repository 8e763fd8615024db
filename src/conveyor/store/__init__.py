"""L1: the role stores (datasets, runs, registry + audit, prediction log, monitoring, job leases, identities,
approvals, feature views, pipeline runs) on
SQLAlchemy (SQLite by default, PostgreSQL) or in memory, and the artifact store on fsspec (local folder, memory, S3).

Nothing here knows about machine learning: it keeps records and bytes. Start from :class:`Stores`; each role's
interface and contract is in the docstring of its module (``conveyor.store.datasets``, ``.runs``, ``.registry``,
``.predictions``, ``.monitoring``, ``.leases``, ``.identities``, ``.approvals``, ``.features``,
``.pipelines``); URL schemes resolve through
``conveyor.store.backends``.
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Names resolve on first use (PEP 562): `conveyor data add` imports one store module without SQLAlchemy.
_EXPORTS = {
    "ArtifactStore": "conveyor.store.artifacts",
    "FsspecArtifactStore": "conveyor.store.artifacts",
    "InMemoryArtifactStore": "conveyor.store.artifacts",
    "STORE_BACKENDS": "conveyor.store.backends",
    "StoreBackend": "conveyor.store.backends",
    "open_artifact_store": "conveyor.store.backends",
    "open_metadata_roles": "conveyor.store.backends",
    "DatasetStore": "conveyor.store.datasets",
    "InMemoryDatasetStore": "conveyor.store.datasets",
    "InMemoryLeaseStore": "conveyor.store.leases",
    "LeaseStore": "conveyor.store.leases",
    "InMemoryMonitoringStore": "conveyor.store.monitoring",
    "MonitoringStore": "conveyor.store.monitoring",
    "InMemoryPipelineStore": "conveyor.store.pipelines",
    "PipelineRun": "conveyor.store.pipelines",
    "PipelineStore": "conveyor.store.pipelines",
    "StepRecord": "conveyor.store.pipelines",
    "InMemoryPredictionStore": "conveyor.store.predictions",
    "PredictionStore": "conveyor.store.predictions",
    "InMemoryRegistryStore": "conveyor.store.registry",
    "RegistryStore": "conveyor.store.registry",
    "MetadataRoles": "conveyor.store.roles",
    "memory_roles": "conveyor.store.roles",
    "InMemoryRunStore": "conveyor.store.runs",
    "RunStore": "conveyor.store.runs",
    "Stores": "conveyor.store.stores",
}

if TYPE_CHECKING:
    from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
    from conveyor.store.backends import STORE_BACKENDS, StoreBackend, open_artifact_store, open_metadata_roles
    from conveyor.store.datasets import DatasetStore, InMemoryDatasetStore
    from conveyor.store.leases import InMemoryLeaseStore, LeaseStore
    from conveyor.store.monitoring import InMemoryMonitoringStore, MonitoringStore
    from conveyor.store.pipelines import InMemoryPipelineStore, PipelineRun, PipelineStore, StepRecord
    from conveyor.store.predictions import InMemoryPredictionStore, PredictionStore
    from conveyor.store.registry import InMemoryRegistryStore, RegistryStore
    from conveyor.store.roles import MetadataRoles, memory_roles
    from conveyor.store.runs import InMemoryRunStore, RunStore
    from conveyor.store.stores import Stores

__all__ = [
    "STORE_BACKENDS",
    "ArtifactStore",
    "DatasetStore",
    "FsspecArtifactStore",
    "InMemoryArtifactStore",
    "InMemoryDatasetStore",
    "InMemoryLeaseStore",
    "InMemoryMonitoringStore",
    "InMemoryPipelineStore",
    "InMemoryPredictionStore",
    "InMemoryRegistryStore",
    "InMemoryRunStore",
    "LeaseStore",
    "MetadataRoles",
    "MonitoringStore",
    "PipelineRun",
    "PipelineStore",
    "PredictionStore",
    "RegistryStore",
    "RunStore",
    "StepRecord",
    "StoreBackend",
    "Stores",
    "memory_roles",
    "open_artifact_store",
    "open_metadata_roles",
]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
