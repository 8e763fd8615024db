"""The stores a project works on, composed role by role from URLs.

``Stores`` holds one object per role — ``datasets``, ``runs``, ``registry`` (with the audit trail),
``predictions``, ``monitoring``, ``leases``, ``identities`` (users, service identities and their tokens),
``approvals``, ``features``, ``pipelines``, ``connections`` — and the ``artifacts`` store. Domain code asks for
the role it needs (``stores.runs.log_metrics(...)``), so a role can move to another backend without touching it.

Composition: ``Stores.open(db_url, artifacts_url)`` opens the metadata roles on ``db_url`` (one database, one
engine) and the artifact store on ``artifacts_url``; URL schemes resolve through
:data:`conveyor.store.backends.STORE_BACKENDS`. The seam for a separate prediction log is ``predictions_url``: when
given, the prediction log is opened on that URL (say ``CONVEYOR_PREDICTIONS_URL=postgresql://.../predictions``, a
database sized for serving traffic) while the other other roles stay on ``db_url``. Any metadata backend can serve it.
With a ``keyring`` (``security.encryption`` or ``CONVEYOR_ENCRYPTION_KEY``) the artifact store is wrapped in an
:class:`~conveyor.store.encrypted_artifacts.EncryptedArtifactStore`: every file at rest is ciphertext.

A prediction log on a SQLite file is wrapped in a
:class:`~conveyor.store.prediction_segments.SegmentedPredictionStore`: serving writes Parquet segments beside the
database file (``<file>-segments/``; sealed under the ``keyring`` when there is one) and every reader drains them into
the table first. Not on PostgreSQL (serving replicas on other hosts: their folders are not the readers'); there
serving inserts its rows as before.

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conveyor.store.approvals import ApprovalStore
from conveyor.store.artifacts import ArtifactStore, InMemoryArtifactStore
from conveyor.store.backends import open_artifact_store, open_metadata_roles
from conveyor.store.connections import ConnectionStore, InMemoryConnectionStore
from conveyor.store.datasets import DatasetStore
from conveyor.store.encrypted_artifacts import EncryptedArtifactStore
from conveyor.store.encryption import Keyring
from conveyor.store.features import FeatureViewStore, InMemoryFeatureViewStore
from conveyor.store.identities import IdentityStore
from conveyor.store.leases import LeaseStore
from conveyor.store.monitoring import MonitoringStore
from conveyor.store.pipelines import InMemoryPipelineStore, PipelineStore
from conveyor.store.prediction_segments import SegmentedPredictionStore, segment_folder_for
from conveyor.store.predictions import PredictionStore
from conveyor.store.registry import RegistryStore
from conveyor.store.roles import MetadataRoles, memory_roles
from conveyor.store.runs import RunStore
from conveyor.store.signing import ModelSigning

__all__ = ["Stores"]



@dataclass(eq=False)
class Stores:
    """One store per role plus the artifact store; ``url`` is where the metadata roles live."""

    datasets: DatasetStore
    runs: RunStore
    registry: RegistryStore
    predictions: PredictionStore
    monitoring: MonitoringStore
    leases: LeaseStore
    artifacts: ArtifactStore
    identities: IdentityStore
    approvals: ApprovalStore
    url: str = "memory://"
    closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    #: model artifact signing (``security.models``); set by the project that opens the stores
    signing: ModelSigning = field(default_factory=ModelSigning, repr=False)
    features: FeatureViewStore = field(default_factory=InMemoryFeatureViewStore)  # feature view versions
    pipelines: PipelineStore = field(default_factory=InMemoryPipelineStore)
    connections: ConnectionStore = field(default_factory=InMemoryConnectionStore)  # source credentials, sealed
    #: the encryption keyring (``security.encryption``); None while encryption at rest is off
    keyring: Keyring | None = field(default=None, repr=False)

    @classmethod
    def from_roles(cls, roles: MetadataRoles, artifacts: ArtifactStore, *,
                   predictions: MetadataRoles | None = None) -> Stores:
        """Every role from ``roles``, but the prediction log from ``predictions`` when given."""
        log = predictions or roles
        closers = [roles.close] + ([log.close] if log is not roles else [])
        return cls(roles.datasets, roles.runs, roles.registry, log.predictions, roles.monitoring, roles.leases,
                   artifacts, roles.identities, roles.approvals, roles.url, closers, features=roles.features,
                   pipelines=roles.pipelines, connections=roles.connections)

    @classmethod
    def open(cls, db_url: str, artifacts_url: str, *, predictions_url: str | None = None,
             keyring: Keyring | None = None) -> Stores:
        """The metadata roles on ``db_url`` (the prediction log on ``predictions_url`` when given) and the artifact
        store on ``artifacts_url``, encrypted at rest under ``keyring`` when given."""
        roles = open_metadata_roles(db_url)
        try:
            log = None
            if predictions_url and predictions_url != db_url:
                log = open_metadata_roles(predictions_url, field="CONVEYOR_PREDICTIONS_URL")
            artifacts = open_artifact_store(artifacts_url)
            if keyring is not None:
                artifacts = EncryptedArtifactStore(artifacts, keyring)
            stores = cls.from_roles(roles, artifacts, predictions=log)
            stores.keyring = keyring
            folder = segment_folder_for((log or roles).url)
            if folder is not None:
                stores.predictions = SegmentedPredictionStore(stores.predictions, folder, keyring=keyring)
            return stores
        except BaseException:
            roles.close()
            raise

    @classmethod
    def in_memory(cls) -> Stores:
        return cls.from_roles(memory_roles(), InMemoryArtifactStore())

    def close(self) -> None:
        """Release every backend opened for these stores (each once)."""
        closers, self.closers = self.closers, []
        for close in closers:
            close()
