"""The identities role: users and service identities, and the API tokens they authenticate with.

A token's secret is never stored: only its SHA-256 (a token is 256 random bits, so a fast hash is enough; the
secret is shown once, when it is made). Records are never deleted: revoking sets ``revoked_at``, so the audit trail
keeps naming identities that existed.

Interface (:class:`IdentityStore`; ``conveyor.testing.identity_store_contract`` checks every implementation):

* ``add_identity(identity)`` records a new identity; a name that exists (revoked or not) raises ConflictError.
* ``get_identity(name)`` answers None for an unknown name; ``identities()`` lists them by name;
  ``has_identities()`` answers whether any was ever added (revoked ones count: revoking the last user must not
  turn authentication off).
* ``revoke_identity(name, at)`` marks it revoked (once: the first time stays) and answers whether it exists.
* ``add_token(token)`` records a token (its id and hash are unique); ``token_by_hash(hash)`` finds one or None;
  ``tokens(identity=None)`` lists them oldest first; ``revoke_token(token_id, at)`` answers whether it exists.
* ``set_grant(grant)`` gives an identity a role on one model or dataset (replacing a grant on the same object);
  ``revoke_grant(identity, kind, name)`` answers whether one existed; ``grants(identity=None)`` lists them by
  identity, kind and name.
* Every method is safe to call from several threads and processes sharing the store; records handed out are copies.
* ``add_identity`` and ``add_token`` call :func:`identities_added` once they have stored the record: a process-wide
  counter (:func:`identity_generation`) that lets a cached "is authentication on?" answer (the platform server asks
  it on every request) be dropped the moment this process adds an identity, through any store object.
"""

from __future__ import annotations

import abc
import copy
import threading
from dataclasses import dataclass, field

from conveyor.core.entities import now
from conveyor.core.errors import ConflictError

__all__ = ["ApiToken", "Grant", "Identity", "IdentityStore", "InMemoryIdentityStore", "identities_added",
           "identity_generation"]

GRANT_KINDS = ("model", "dataset")

_generation = 0
_generation_lock = threading.Lock()


def identities_added() -> None:
    """Record that this process stored an identity or a token (see :func:`identity_generation`)."""
    global _generation
    with _generation_lock:
        _generation += 1


def identity_generation() -> int:
    """How many identities and tokens this process has stored so far, through any identity store."""
    return _generation


@dataclass
class Identity:
    """A user (a person) or a service (a CI job, the agent, a serving replica) with one role in the project."""

    name: str
    role: str  # viewer | scientist | approver | admin
    kind: str = "user"  # user | service
    created_at: float = field(default_factory=now)
    created_by: str = ""
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class ApiToken:
    """A token of ``identity``: ``id`` is public (listed, used to revoke), ``hash`` the SHA-256 of the secret."""

    id: str
    identity: str
    hash: str
    created_at: float = field(default_factory=now)
    expires_at: float | None = None
    revoked_at: float | None = None
    description: str = ""

    def usable(self, at: float) -> bool:
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


@dataclass
class Grant:
    """A role of ``identity`` on one object: ``kind`` is model or dataset, ``name`` its name."""

    identity: str
    kind: str
    name: str
    role: str
    created_at: float = field(default_factory=now)


class IdentityStore(abc.ABC):
    """Identities and their tokens; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def add_identity(self, identity: Identity) -> Identity: ...

    @abc.abstractmethod
    def get_identity(self, name: str) -> Identity | None: ...

    @abc.abstractmethod
    def identities(self) -> list[Identity]:
        """Ordered by name."""

    @abc.abstractmethod
    def revoke_identity(self, name: str, at: float | None = None) -> bool: ...

    @abc.abstractmethod
    def add_token(self, token: ApiToken) -> ApiToken: ...

    @abc.abstractmethod
    def token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    @abc.abstractmethod
    def tokens(self, identity: str | None = None) -> list[ApiToken]:
        """Oldest first."""

    @abc.abstractmethod
    def revoke_token(self, token_id: str, at: float | None = None) -> bool: ...

    @abc.abstractmethod
    def set_grant(self, grant: Grant) -> Grant: ...

    @abc.abstractmethod
    def revoke_grant(self, identity: str, kind: str, name: str) -> bool: ...

    @abc.abstractmethod
    def grants(self, identity: str | None = None) -> list[Grant]:
        """Ordered by identity, kind, name."""

    def has_identities(self) -> bool:
        return bool(self.identities())

    @staticmethod
    def _conflict(name: str) -> ConflictError:
        return ConflictError(f"Identity {name!r} already exists.", field="name",
                             hint="Pick another name; a revoked identity's name is not reused.")


class InMemoryIdentityStore(IdentityStore):
    """Identities and tokens in dicts behind a lock (one process only)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._identities: dict[str, Identity] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._grants: dict[tuple[str, str, str], Grant] = {}

    def add_identity(self, identity: Identity) -> Identity:
        with self._lock:
            if identity.name in self._identities:
                raise self._conflict(identity.name)
            self._identities[identity.name] = copy.deepcopy(identity)
        identities_added()
        return copy.deepcopy(identity)

    def get_identity(self, name: str) -> Identity | None:
        with self._lock:
            return copy.deepcopy(self._identities.get(name))

    def identities(self) -> list[Identity]:
        with self._lock:
            return [copy.deepcopy(i) for _, i in sorted(self._identities.items())]

    def revoke_identity(self, name: str, at: float | None = None) -> bool:
        with self._lock:
            found = self._identities.get(name)
            if found is not None and found.revoked_at is None:
                found.revoked_at = now() if at is None else at
            return found is not None

    def add_token(self, token: ApiToken) -> ApiToken:
        with self._lock:
            if token.id in self._tokens or any(t.hash == token.hash for t in self._tokens.values()):
                raise ConflictError(f"Token {token.id!r} already exists.", field="token")
            self._tokens[token.id] = copy.deepcopy(token)
        identities_added()
        return copy.deepcopy(token)

    def token_by_hash(self, token_hash: str) -> ApiToken | None:
        with self._lock:
            return copy.deepcopy(next((t for t in self._tokens.values() if t.hash == token_hash), None))

    def tokens(self, identity: str | None = None) -> list[ApiToken]:
        with self._lock:
            found = [copy.deepcopy(t) for t in self._tokens.values() if identity is None or t.identity == identity]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def revoke_token(self, token_id: str, at: float | None = None) -> bool:
        with self._lock:
            found = self._tokens.get(token_id)
            if found is not None and found.revoked_at is None:
                found.revoked_at = now() if at is None else at
            return found is not None

    def set_grant(self, grant: Grant) -> Grant:
        with self._lock:
            self._grants[(grant.identity, grant.kind, grant.name)] = copy.deepcopy(grant)
            return copy.deepcopy(grant)

    def revoke_grant(self, identity: str, kind: str, name: str) -> bool:
        with self._lock:
            return self._grants.pop((identity, kind, name), None) is not None

    def grants(self, identity: str | None = None) -> list[Grant]:
        with self._lock:
            return [copy.deepcopy(g) for k, g in sorted(self._grants.items()) if identity is None or k[0] == identity]
