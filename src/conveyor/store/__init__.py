"""L1: the role stores (datasets, runs, registry + audit, prediction log, monitoring, job leases, identities,
approvals, feature views, pipeline runs) on
SQLAlchemy (SQLite by default, PostgreSQL) or in memory, and the artifact store on fsspec (local folder, memory, S3).

Nothing here knows about machine learning: it keeps records and bytes. Start from :class:`Stores`; each role's
interface and contract is in the docstring of its module (``conveyor.store.datasets``, ``.runs``, ``.registry``,
``.predictions``, ``.monitoring``, ``.leases``, ``.identities``, ``.approvals``, ``.features``,
``.pipelines``); URL schemes resolve through
``conveyor.store.backends``.
"""

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
