"""The SQL backend of the metadata roles: SQLite (WAL) by default, PostgreSQL through the same SQLAlchemy Core code.

One module per role (``datasets``, ``runs``, ``registry``, ``predictions``, ``monitoring``, ``leases``,
``identities``, ``approvals``, ``features``, ``pipelines``, ``connections``), all on one
:class:`~conveyor.store.sql.database.SqlDatabase` per URL.
The schema is :mod:`conveyor.store.schema`, changed only through the Alembic migrations in
``conveyor/store/migrations``.
"""

from __future__ import annotations

from conveyor.store.backends import StoreBackend
from conveyor.store.roles import MetadataRoles
from conveyor.store.sql.approvals import SqlApprovalStore
from conveyor.store.sql.connections import SqlConnectionStore
from conveyor.store.sql.database import SqlDatabase, create_engine
from conveyor.store.sql.datasets import SqlDatasetStore
from conveyor.store.sql.features import SqlFeatureViewStore
from conveyor.store.sql.identities import SqlIdentityStore
from conveyor.store.sql.leases import SqlLeaseStore
from conveyor.store.sql.monitoring import SqlMonitoringStore
from conveyor.store.sql.pipelines import SqlPipelineStore
from conveyor.store.sql.predictions import SqlPredictionStore
from conveyor.store.sql.registry import SqlRegistryStore
from conveyor.store.sql.runs import SqlRunStore

__all__ = [
    "BACKEND",
    "SqlApprovalStore",
    "SqlConnectionStore",
    "SqlDatabase",
    "SqlDatasetStore",
    "SqlFeatureViewStore",
    "SqlIdentityStore",
    "SqlLeaseStore",
    "SqlMonitoringStore",
    "SqlPipelineStore",
    "SqlPredictionStore",
    "SqlRegistryStore",
    "SqlRunStore",
    "create_engine",
    "sql_roles",
]


def sql_roles(url: str) -> MetadataRoles:
    """The metadata roles on the database at ``url``, sharing one engine (the schema upgraded once, here)."""
    db = SqlDatabase(url)
    return MetadataRoles(url, SqlDatasetStore(db), SqlRunStore(db), SqlRegistryStore(db), SqlPredictionStore(db),
                         SqlMonitoringStore(db), SqlLeaseStore(db), SqlIdentityStore(db), SqlApprovalStore(db),
                         features=SqlFeatureViewStore(db), pipelines=SqlPipelineStore(db),
                         connections=SqlConnectionStore(db),
                         closer=db.close)


BACKEND = StoreBackend(metadata=sql_roles)

