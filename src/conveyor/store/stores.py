"""Open the stores a project's settings name: a registry keyed by URL scheme, not an if-chain."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conveyor.core.errors import BadInputError
from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
from conveyor.store.metadata import InMemoryMetadataStore, MetadataStore
from conveyor.store.sql import SqlMetadataStore

METADATA_BACKENDS: dict[str, Callable[[str], MetadataStore]] = {
    "memory": lambda _url: InMemoryMetadataStore(),
    "sqlite": SqlMetadataStore,
    "postgresql": SqlMetadataStore,
}

ARTIFACT_BACKENDS: dict[str, Callable[[str], ArtifactStore]] = {
    "memory": lambda _url: InMemoryArtifactStore(),
}


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0] if "://" in url else "file"


def open_metadata_store(url: str) -> MetadataStore:
    backend = METADATA_BACKENDS.get(_scheme(url))
    if backend is None:
        raise BadInputError(f"Unsupported metadata store URL {url!r}.", field="CONVEYOR_DB_URL",
                            hint=f"Use one of: {', '.join(s + '://' for s in METADATA_BACKENDS)}.")
    return backend(url)


def open_artifact_store(url: str) -> ArtifactStore:
    backend = ARTIFACT_BACKENDS.get(_scheme(url), FsspecArtifactStore)
    try:
        return backend(url)
    except ImportError as exc:  # fsspec names the missing package, e.g. s3fs for s3://
        raise BadInputError(f"No filesystem driver for {url.split(':', 1)[0]!r} URLs: {exc}",
                            field="CONVEYOR_ARTIFACTS",
                            hint="For S3 install the extra: pip install 'conveyor-mlops[s3]'.") from None
    except ValueError as exc:  # fsspec: unknown protocol
        raise BadInputError(f"Unsupported artifact store URL {url!r}: {exc}", field="CONVEYOR_ARTIFACTS",
                            hint="Use a local folder, memory:// or s3://bucket/prefix.") from None


@dataclass
class Stores:
    """The two stores every domain function works on."""

    metadata: MetadataStore
    artifacts: ArtifactStore

    @classmethod
    def open(cls, db_url: str, artifacts_url: str) -> Stores:
        return cls(open_metadata_store(db_url), open_artifact_store(artifacts_url))

    @classmethod
    def in_memory(cls) -> Stores:
        return cls(InMemoryMetadataStore(), InMemoryArtifactStore())

    def close(self) -> None:
        self.metadata.close()
