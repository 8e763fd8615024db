"""Users, service identities and their API tokens; who a token belongs to.

A token is ``cvy_`` plus 256 random bits (URL-safe base64). It is shown once, when made, and stored as its SHA-256
only; each has a public id (``tok_...``) to list and revoke it by, an optional expiry, and a revocation time.
Authentication is on as soon as one identity exists (:func:`authentication_on`); with none, the embedded
single-user flow needs no token. There is no default password: the first admin of a fresh deployment is either
added locally (``conveyor users add NAME --role admin`` by whoever holds the store) or read from the mounted secret
named by ``CONVEYOR_BOOTSTRAP_TOKEN_FILE`` (:func:`bootstrap_admin`).

Every change to identities, tokens and grants is a governance event in the audit trail (actions ``user.add``,
``user.revoke``, ``user.bootstrap``, ``token.create``, ``token.revoke``, ``grant.add``, ``grant.revoke``); the
secret and its hash never are.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from conveyor.core.entities import now
from conveyor.core.errors import AuthenticationError, BadInputError, NotFoundError, ThrottledError
from conveyor.core.refs import check_name
from conveyor.security.roles import check_role, require
from conveyor.store import Stores
from conveyor.store.identities import GRANT_KINDS, ApiToken, Grant, Identity

__all__ = ["BOOTSTRAP_ENV", "FailureThrottle", "NewToken", "add_identity", "authenticate", "authentication_on",
           "authorize", "bootstrap_admin", "create_token", "grant", "hash_token", "local_actor", "revoke_grant",
           "revoke_identity", "revoke_token"]

PREFIX = "cvy_"
BOOTSTRAP_ENV = "CONVEYOR_BOOTSTRAP_TOKEN_FILE"
MIN_SECRET = 32  # characters of a bootstrap token: no short, guessable first password
KINDS = ("user", "service")
INVALID = "Invalid, expired or revoked token."  # one message for every failure: no oracle


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is its only copy (print it once), ``token`` the stored record."""

    secret: str
    token: ApiToken
    identity: Identity


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def authentication_on(stores: Stores) -> bool:
    """True as soon as one identity was ever added (revoked ones count)."""
    return stores.identities.has_identities()


def _store_token(stores: Stores, identity: Identity, secret: str, expires_at: float | None,
                 description: str) -> ApiToken:
    token = ApiToken(f"tok_{secrets.token_hex(6)}", identity.name, hash_token(secret), now(), expires_at,
                     description=description)
    return stores.identities.add_token(token)


def _expiry(expires_in: float | None) -> float | None:
    if expires_in is not None and expires_in <= 0:
        raise BadInputError(f"A token's lifetime must be positive, not {expires_in}.", field="expires",
                            hint="Pass a duration such as 90d, or none for a token that does not expire.")
    return None if expires_in is None else now() + expires_in


def add_identity(stores: Stores, name: str, role: str, *, actor: str, kind: str = "user",
                 expires_in: float | None = None, description: str = "") -> NewToken:
    """Add an identity with its first token (audited as ``user.add``)."""
    check_name(name, "identity name")
    check_role(role)
    if kind not in KINDS:
        raise BadInputError(f"Unknown identity kind {kind!r}.", field="kind", hint="Use user or service.")
    expires_at = _expiry(expires_in)
    identity = stores.identities.add_identity(Identity(name, role, kind, now(), actor))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = _store_token(stores, identity, secret, expires_at, description)
    stores.registry.append_audit(actor, "user.add", name, {"role": role, "kind": kind, "token": token.id,
                                                           "expires_at": expires_at})
    return NewToken(secret, token, identity)


def _active(stores: Stores, name: str) -> Identity:
    identity = stores.identities.get_identity(name)
    if identity is None:
        raise NotFoundError.for_name("identity", name, [i.name for i in stores.identities.identities()])
    if not identity.active:
        raise BadInputError(f"Identity {name!r} is revoked.", field="name", hint="Add a new identity instead.")
    return identity


def create_token(stores: Stores, name: str, *, actor: str, expires_in: float | None = None,
                 description: str = "") -> NewToken:
    """Another token for identity ``name`` (audited as ``token.create``)."""
    identity = _active(stores, name)
    expires_at = _expiry(expires_in)
    secret = PREFIX + secrets.token_urlsafe(32)
    token = _store_token(stores, identity, secret, expires_at, description)
    stores.registry.append_audit(actor, "token.create", name, {"token": token.id, "expires_at": expires_at})
    return NewToken(secret, token, identity)


def revoke_identity(stores: Stores, name: str, *, actor: str) -> Identity:
    """Revoke an identity and every token of it (audited as ``user.revoke``)."""
    identity = _active(stores, name)
    at = now()
    for token in stores.identities.tokens(name):
        stores.identities.revoke_token(token.id, at)
    stores.identities.revoke_identity(name, at)
    stores.registry.append_audit(actor, "user.revoke", name, {})
    identity.revoked_at = at
    return identity


def revoke_token(stores: Stores, token_id: str, *, actor: str) -> ApiToken:
    """Revoke one token by its public id (audited as ``token.revoke``)."""
    found = next((t for t in stores.identities.tokens() if t.id == token_id), None)
    if found is None:
        raise NotFoundError(f"Unknown token {token_id!r}.", field="token",
                            hint="See `conveyor tokens list` for the ids.")
    stores.identities.revoke_token(token_id)
    stores.registry.append_audit(actor, "token.revoke", found.identity, {"token": token_id})
    return found


class FailureThrottle:
    """Brute-force throttling: after ``limit`` failed tokens from one source within ``window`` seconds, that source
    is refused (ThrottledError, HTTP 429) until the window has passed, even with a valid token."""

    def __init__(self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window = limit, window
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, source: str, at: float) -> deque[float]:
        failures = self._failures.setdefault(source, deque())
        while failures and failures[0] <= at - self.window:
            failures.popleft()
        return failures

    def check(self, source: str, at: float | None = None) -> None:
        at = self._clock() if at is None else at
        with self._lock:
            if len(self._recent(source, at)) >= self.limit:
                raise ThrottledError("Too many failed tokens from this address.", field="token",
                                     hint=f"Wait {self.window:.0f} s, then use a valid token.")

    def fail(self, source: str, at: float | None = None) -> None:
        at = self._clock() if at is None else at
        with self._lock:
            self._recent(source, at).append(at)


def authenticate(stores: Stores, token: str | None, *, at: float | None = None,
                 throttle: FailureThrottle | None = None, source: str = "") -> Identity:
    """The active identity ``token`` belongs to, or AuthenticationError (one message, whatever was wrong).
    With ``throttle``, failures are counted per ``source`` and a throttled source is refused first."""
    if throttle is not None:
        throttle.check(source)
    at = now() if at is None else at
    identity: Identity | None = None
    if token and token.startswith(PREFIX):
        record = stores.identities.token_by_hash(hash_token(token))
        if record is not None and hmac.compare_digest(record.hash, hash_token(token)) and record.usable(at):
            found = stores.identities.get_identity(record.identity)
            identity = found if found is not None and found.active else None
    if identity is None:
        if throttle is not None:
            throttle.fail(source)
        raise AuthenticationError(INVALID, field="token",
                                  hint="Send a valid token (Authorization: Bearer, or CONVEYOR_TOKEN for the CLI).")
    return identity


def local_actor() -> str:
    """The actor while authentication is off: ``local:<os-login>`` (unauthenticated)."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"


def authorize(stores: Stores, action: str, token: str | None, *, kind: str | None = None,
              target: str | None = None) -> str:
    """The actor doing ``action`` (on the ``kind``, model or dataset, named ``target``): with authentication on,
    the identity of ``token``, which its role or a grant on that object must allow (else AuthenticationError or
    PermissionDeniedError); with it off, :func:`local_actor`."""
    if not authentication_on(stores):
        return local_actor()
    identity = authenticate(stores, token)
    grants = stores.identities.grants(identity.name) if kind is not None else []
    require(identity.name, identity.role, action, grants, kind, target)
    return identity.name


def grant(stores: Stores, name: str, kind: str, target: str, role: str, *, actor: str) -> Grant:
    """Give identity ``name`` the role ``role`` on one model or dataset (audited as ``grant.add``)."""
    _active(stores, name)
    check_role(role)
    if kind not in GRANT_KINDS:
        raise BadInputError(f"Unknown grant kind {kind!r}.", field="kind", hint="Grant on a model or a dataset.")
    check_name(target, f"{kind} name")
    given = stores.identities.set_grant(Grant(name, kind, target, role, now()))
    stores.registry.append_audit(actor, "grant.add", name, {"kind": kind, "name": target, "role": role})
    return given


def revoke_grant(stores: Stores, name: str, kind: str, target: str, *, actor: str) -> None:
    """Take a grant back (audited as ``grant.revoke``)."""
    if not stores.identities.revoke_grant(name, kind, target):
        raise NotFoundError(f"{name!r} has no grant on {kind} {target!r}.", field="name",
                            hint="See `conveyor users list --json` for the grants.")
    stores.registry.append_audit(actor, "grant.revoke", name, {"kind": kind, "name": target})


def bootstrap_admin(stores: Stores, environ: Mapping[str, str] | None = None, *, name: str = "admin"
                    ) -> Identity | None:
    """The first admin of a fresh deployment, from the token in the file ``CONVEYOR_BOOTSTRAP_TOKEN_FILE`` names
    (a mounted secret). Does nothing (None) when the variable is unset or identities exist already."""
    environ = os.environ if environ is None else environ
    path = environ.get(BOOTSTRAP_ENV)
    if not path or authentication_on(stores):
        return None
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BadInputError(f"Cannot read the bootstrap token file {path}: {exc.strerror}.", field=BOOTSTRAP_ENV,
                            hint="Mount the secret there, or unset the variable.") from None
    if len(secret) < len(PREFIX) + MIN_SECRET or any(c.isspace() for c in secret):
        raise BadInputError(f"The bootstrap token in {path} is too short or has spaces: use {MIN_SECRET} or more "
                            "random characters.", field=BOOTSTRAP_ENV,
                            hint="Make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'.")
    if not secret.startswith(PREFIX):
        raise BadInputError(f"The bootstrap token in {path} must start with {PREFIX!r}.", field=BOOTSTRAP_ENV,
                            hint=f"Write {PREFIX} followed by the random part.")
    actor = "bootstrap"
    identity = stores.identities.add_identity(Identity(name, "admin", "user", now(), actor))
    token = _store_token(stores, identity, secret, None, "bootstrap")
    stores.registry.append_audit(actor, "user.bootstrap", name, {"role": "admin", "token": token.id,
                                                                 "source": BOOTSTRAP_ENV})
    return identity
