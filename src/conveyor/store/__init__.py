"""L1: the metadata store (SQLAlchemy; SQLite by default, PostgreSQL) and the artifact store (fsspec).

Nothing here knows about machine learning: it keeps records and bytes.
"""

from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
from conveyor.store.metadata import InMemoryMetadataStore, MetadataStore
from conveyor.store.stores import Stores, open_artifact_store, open_metadata_store

__all__ = [
    "ArtifactStore",
    "FsspecArtifactStore",
    "InMemoryArtifactStore",
    "InMemoryMetadataStore",
    "MetadataStore",
    "Stores",
    "open_artifact_store",
    "open_metadata_store",
]
