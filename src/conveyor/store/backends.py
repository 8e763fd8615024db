"""Store backends by URL scheme: a :class:`~conveyor.core.plugins.Registry`, entry-point group ``conveyor.stores``.

A :class:`StoreBackend` says what a scheme opens: the metadata roles (:class:`~conveyor.store.roles.MetadataRoles`),
an artifact store, or both. Built-in schemes:

============================  ================================================  ==========================
scheme                        metadata roles                                    artifacts
============================  ================================================  ==========================
``memory``                    in memory (fresh per open)                        in memory
``sqlite``                    SQL (SQLite, WAL)                                 --
``postgresql``,               SQL (PostgreSQL through psycopg 3; the            --
``postgresql+psycopg``        ``postgres`` extra)
``file`` (and plain paths)    --                                                a local folder (fsspec)
``s3``                        --                                                S3 through s3fs (``s3`` extra;
                                                                                multipart, retries: store/s3)
============================  ================================================  ==========================

A plug-in adds a scheme in its ``pyproject.toml``::

    [project.entry-points."conveyor.stores"]
    mongodb = "my_package.store:BACKEND"      # BACKEND = StoreBackend(metadata=open_mongo_roles)

and proves its roles with the contract suites in ``conveyor.testing`` (one per role). An unknown scheme is a
:class:`BadInputError` that names the setting and the known schemes; no message shows a URL's password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from conveyor.core.dependencies import require
from conveyor.core.errors import BadInputError, ConveyorError
from conveyor.core.plugins import Registry
from conveyor.store.artifacts import ArtifactStore, FsspecArtifactStore, InMemoryArtifactStore
from conveyor.store.roles import MetadataRoles, memory_roles
from conveyor.store.urls import mask, redact, scheme_of

__all__ = ["STORE_BACKENDS", "StoreBackend", "open_artifact_store", "open_metadata_roles"]

Kind = Literal["metadata", "artifacts"]


@dataclass(frozen=True)
class StoreBackend:
    """What one URL scheme opens. ``metadata(url)`` opens the metadata roles on one database;
    ``artifacts(url)`` opens an artifact store. A backend offers one or both."""

    metadata: Callable[[str], MetadataRoles] | None = None
    artifacts: Callable[[str], ArtifactStore] | None = None


def _check(name: str, backend: StoreBackend) -> None:
    if not isinstance(backend, StoreBackend):
        raise BadInputError(f"The store backend {name!r} is a {type(backend).__name__}, not a StoreBackend.",
                            field="conveyor.stores", hint="Point its entry point at a StoreBackend instance.")


STORE_BACKENDS: Registry[StoreBackend] = Registry("store backend", "conveyor.stores", field="store URL",
                                                  check=_check)


def _open_s3(url: str) -> ArtifactStore:
    require("s3fs", "s3", field="CONVEYOR_ARTIFACTS")
    from conveyor.store.s3 import S3ArtifactStore, s3_settings_from_env  # only where s3:// is used

    return S3ArtifactStore(url, **s3_settings_from_env())


STORE_BACKENDS.register("memory", StoreBackend(metadata=memory_roles, artifacts=lambda _url: InMemoryArtifactStore()))
STORE_BACKENDS.register("file", StoreBackend(artifacts=FsspecArtifactStore))
STORE_BACKENDS.register("s3", StoreBackend(artifacts=_open_s3))
for _scheme in ("sqlite", "postgresql", "postgresql+psycopg"):
    STORE_BACKENDS.register_lazy(_scheme, "conveyor.store.sql:BACKEND")

_WHAT = {"metadata": "metadata store", "artifacts": "artifact store"}


def known_schemes(kind: Kind) -> list[str]:
    """The schemes that open ``kind``, plug-ins included (a plug-in that cannot be loaded is left out)."""
    known = []
    for name in STORE_BACKENDS.names():
        try:
            if getattr(STORE_BACKENDS.get(name), kind) is not None:
                known.append(name)
        except ConveyorError:
            continue
    return sorted(known)


def _opener(url: str, kind: Kind, field: str) -> Callable[[str], object]:
    scheme = scheme_of(url)
    if scheme in STORE_BACKENDS:
        opener: Callable[[str], object] | None = getattr(STORE_BACKENDS.get(scheme), kind)
        if opener is not None:
            return opener
    raise BadInputError(f"Unsupported {_WHAT[kind]} URL {mask(url)!r}: no {_WHAT[kind]} backend for the scheme "
                        f"{scheme!r}.", field=field,
                        hint=f"Known schemes: {', '.join(known_schemes(kind))} (plug-ins add more through the "
                             "'conveyor.stores' entry-point group).")


def open_metadata_roles(url: str, *, field: str = "CONVEYOR_DB_URL") -> MetadataRoles:
    """The metadata roles on ``url`` (``field`` is the setting it came from, named in errors)."""
    roles = _opener(url, "metadata", field)(url)
    assert isinstance(roles, MetadataRoles)
    return roles


def open_artifact_store(url: str, *, field: str = "CONVEYOR_ARTIFACTS") -> ArtifactStore:
    """The artifact store at ``url``: a local folder (a path or file://), memory://, s3://bucket/prefix."""
    opener = _opener(url, "artifacts", field)
    try:
        store = opener(url)
    except ConveyorError:
        raise
    except ImportError as exc:  # fsspec names the driver it misses
        raise BadInputError(f"No filesystem driver for {scheme_of(url)!r} URLs: {redact(str(exc), url)}", field=field,
                            hint="Install the extra that provides it, e.g. pip install 'conveyor-mlops[s3]'.") from None
    except ValueError as exc:
        raise BadInputError(f"Unsupported artifact store URL {mask(url)!r}: {redact(str(exc), url)}", field=field,
                            hint="Use a local folder, memory:// or s3://bucket/prefix.") from None
    assert isinstance(store, ArtifactStore)
    return store
