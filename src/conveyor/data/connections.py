"""Stored connections: a data source's URL (with its password) kept sealed in the store under the project's
encryption key, and used by name (`data ingest --connection NAME --query ...`, `data refresh`, pipelines).

No password is ever written to ``conveyor.yaml``, a dataset's ``source`` (it records ``connection:NAME: QUERY``),
a log line, an error message or ``--json``: listings show the URL masked. The URL is sealed with AES-GCM under a
fresh data key wrapped by the project's key-encryption key (the same envelope as artifacts), with the connection's
name as associated data, so a sealed value copied onto another name does not open. Storing one therefore needs
encryption at rest (``CONVEYOR_ENCRYPTION_KEY`` or ``security.encryption``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
from collections.abc import Callable
from typing import TypeVar

from conveyor.core.entities import DatasetVersion, now
from conveyor.core.errors import BadInputError, ConveyorError, IntegrityError, NotFoundError
from conveyor.core.refs import check_name
from conveyor.data.sources import IngestOptions, ingest_source
from conveyor.data.sql import safe_url
from conveyor.store import Stores
from conveyor.store.connections import StoredConnection
from conveyor.store.encryption import Keyring, decrypt_object, encrypt_chunks
from conveyor.store.urls import redact

__all__ = ["PREFIX", "add_connection", "connection_of", "connection_url", "ingest_through", "recorded_query",
           "redacting", "remove_connection", "seal", "source_label", "unseal"]

PREFIX = "connection:"
"""How a dataset version made through a stored connection records its source: ``connection:NAME: QUERY``."""

T = TypeVar("T")


def _object_id(name: str) -> str:
    return f"connection/{name}"


def seal(keyring: Keyring, name: str, url: str) -> str:
    data_key = os.urandom(32)
    sealed = b"".join(encrypt_chunks(data_key, _object_id(name), url.encode()))
    return json.dumps({"v": 1, "key": keyring.wrap(data_key, _object_id(name)).decode(),
                       "data": base64.b64encode(sealed).decode()}, sort_keys=True)


def unseal(keyring: Keyring, name: str, sealed: str) -> str:
    try:
        record = json.loads(sealed)
        key, data = record["key"].encode(), base64.b64decode(record["data"], validate=True)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise IntegrityError(f"The stored connection {name!r} is unreadable.", field="connection",
                             hint=f"Store it again: conveyor connections add {name}.") from None
    return decrypt_object(keyring.unwrap(key, _object_id(name)), _object_id(name), data).decode()


def _keyring(stores: Stores) -> Keyring:
    if stores.keyring is None:
        raise BadInputError("Stored connections need encryption at rest, which is off.", field="connection",
                            hint="Set CONVEYOR_ENCRYPTION_KEY (make one with `conveyor encryption new-key`) or "
                                 "security.encryption in conveyor.yaml, on every platform process.")
    return stores.keyring


def _check_url(url: str) -> str:
    import sqlalchemy as sa

    if not isinstance(url, str) or not url.strip():
        raise BadInputError("The connection URL is empty.", field="url",
                            hint="Give a SQLAlchemy URL: postgresql://user:password@host/db.")
    try:
        sa.engine.make_url(url.strip())
    except sa.exc.ArgumentError:
        raise BadInputError("The connection URL is not a database URL.", field="url",
                            hint="Give a SQLAlchemy URL: postgresql://user:password@host/db, "
                                 "sqlite:///path.db.") from None
    return url.strip()


def add_connection(stores: Stores, name: str, url: str, *, actor: str) -> StoredConnection:
    """Store (or replace) the connection ``name``; audited as ``connection.add`` with the masked URL only."""
    check_name(name, "connection name")
    keyring = _keyring(stores)
    url = _check_url(url)
    before = stores.connections.get(name)
    stamp = now()
    stored = stores.connections.put(StoredConnection(name, seal(keyring, name, url), safe_url(url),
                                                     before.created_at if before else stamp, stamp, actor))
    stores.registry.append_audit(actor, "connection.replace" if before else "connection.add", name,
                                 {"url": stored.display})
    return stored


def remove_connection(stores: Stores, name: str, *, actor: str) -> None:
    connection_of(stores, name)
    stores.connections.delete(name)
    stores.registry.append_audit(actor, "connection.remove", name, {})


def connection_of(stores: Stores, name: str) -> StoredConnection:
    found = stores.connections.get(name) if isinstance(name, str) else None
    if found is None:
        raise NotFoundError.for_name("connection", str(name), [c.name for c in stores.connections.list()])
    return found


def connection_url(stores: Stores, name: str) -> str:
    """The URL of the stored connection ``name``, unsealed (for the call that connects; never shown)."""
    return unseal(_keyring(stores), name, connection_of(stores, name).sealed)


def redacting(url: str, work: Callable[[], T]) -> T:
    """``work()``, with any error's message and hint cleared of ``url``'s password (a driver may quote it)."""
    try:
        return work()
    except ConveyorError as exc:
        exc.message = redact(exc.message, url)
        exc.hint = redact(exc.hint, url) if exc.hint else exc.hint
        exc.args = (str(exc),)
        raise


def source_label(name: str, query: str) -> str:
    return f"{PREFIX}{name}: {' '.join(query.split())}"


def recorded_query(source: str | None) -> tuple[str, str] | None:
    """(connection, query) of a version made through a stored connection, from its recorded source."""
    if not source or not source.startswith(PREFIX):
        return None
    name, sep, query = source[len(PREFIX):].partition(": ")
    return (name, query) if sep and query else None


def ingest_through(stores: Stores, connection: str, name: str, options: IngestOptions
                   ) -> tuple[DatasetVersion, bool]:
    """Run ``options.query`` over the stored connection ``connection`` into a version of ``name``."""
    if not options.query or not options.query.strip():
        raise BadInputError("--connection needs --query.", field="query", hint="Pass --query 'SELECT ...'.")
    url = connection_url(stores, connection)
    labelled = dataclasses.replace(options, label=source_label(connection, options.query))
    return redacting(url, lambda: ingest_source(stores, url, name, labelled, kind="sql"))
