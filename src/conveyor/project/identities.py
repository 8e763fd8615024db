"""``project.identities``: users, service identities and API tokens, as `conveyor users ...` and `conveyor tokens
...` work with them.

The caller is whoever the token says: the one given to :meth:`LocalIdentities.use_token`, else ``CONVEYOR_TOKEN``.
With no identities at all (authentication off) the caller is ``local:<os-login>``, who may add the first identity,
an admin. A fresh store first takes its admin from ``CONVEYOR_BOOTSTRAP_TOKEN_FILE`` when that is set.
"""

from __future__ import annotations

import builtins
import os
from typing import Protocol

from conveyor.core.durations import parse_duration
from conveyor.core.errors import BadInputError
from conveyor.project._base import LocalAPI
from conveyor.security import identities as ids
from conveyor.security.identities import local_actor
from conveyor.security.roles import require
from conveyor.store.identities import ApiToken, Grant, Identity

Lifetime = str | float | None


class IdentitiesAPI(Protocol):
    """Identities and their tokens."""

    def authentication_on(self) -> bool: ...

    def use_token(self, token: str | None) -> None: ...

    def whoami(self) -> Identity | None: ...

    def add(self, name: str, role: str, *, kind: str = "user", expires: Lifetime = None,
            description: str = "") -> ids.NewToken: ...

    def list(self) -> builtins.list[Identity]: ...

    def revoke(self, name: str) -> Identity: ...

    def tokens(self, name: str | None = None) -> builtins.list[ApiToken]: ...

    def create_token(self, name: str | None = None, *, expires: Lifetime = None,
                     description: str = "") -> ids.NewToken: ...

    def revoke_token(self, token_id: str) -> ApiToken: ...

    def grant(self, name: str, role: str, *, model: str | None = None, dataset: str | None = None) -> Grant: ...

    def ungrant(self, name: str, *, model: str | None = None, dataset: str | None = None) -> None: ...

    def grants(self, name: str | None = None) -> builtins.list[Grant]: ...


def _object(model: str | None, dataset: str | None) -> tuple[str, str]:
    if (model is None) == (dataset is None):
        raise BadInputError("Name one object to grant on: a model or a dataset.", field="model",
                            hint="Pass --model NAME or --dataset NAME.")
    return ("model", model) if model is not None else ("dataset", dataset or "")


def _lifetime(expires: Lifetime) -> float | None:
    return None if expires is None else parse_duration(expires, "expires", allow_zero=False)


class LocalIdentities(LocalAPI):
    """:class:`IdentitiesAPI` on this project's stores."""

    _token: str | None = None
    _token_set = False

    def use_token(self, token: str | None) -> None:
        """Act as the identity of ``token`` from now on (instead of ``CONVEYOR_TOKEN``)."""
        self._token, self._token_set = token, True

    def authentication_on(self) -> bool:
        ids.bootstrap_admin(self.stores)
        return ids.authentication_on(self.stores)

    def whoami(self) -> Identity | None:
        """The calling identity (None while authentication is off)."""
        if not self.authentication_on():
            return None
        return ids.authenticate(self.stores, self._token if self._token_set else os.environ.get("CONVEYOR_TOKEN"))

    def _caller(self, action: str) -> tuple[str, Identity | None]:
        """(actor, identity) of the caller, allowed to do ``action``; identity None while authentication is off."""
        identity = self.whoami()
        if identity is None:
            return local_actor(), None
        require(identity.name, identity.role, action)
        return identity.name, identity

    def add(self, name: str, role: str, *, kind: str = "user", expires: Lifetime = None,
            description: str = "") -> ids.NewToken:
        """Add an identity and make its first token (``.secret``: print it once)."""
        actor, identity = self._caller("users.manage")
        if identity is None and role != "admin":
            raise BadInputError(f"The first identity must be an admin, not a {role}: adding it turns authentication "
                                "on, and only an admin can add the others.", field="role",
                                hint=f"Run `conveyor users add {name} --role admin` first.")
        return ids.add_identity(self.stores, name, role, actor=actor, kind=kind, expires_in=_lifetime(expires),
                                description=description)

    def list(self) -> builtins.list[Identity]:
        self._caller("users.manage")
        return self.stores.identities.identities()

    def revoke(self, name: str) -> Identity:
        """Revoke an identity and all its tokens."""
        actor, _ = self._caller("users.manage")
        return ids.revoke_identity(self.stores, name, actor=actor)

    def _for(self, name: str | None) -> tuple[str, str]:
        """(actor, the identity acted on): one's own needs tokens.own, another's users.manage."""
        identity = self.whoami()
        if identity is None:
            if name is None:
                raise BadInputError("There are no identities yet, so there is no caller to make a token for.",
                                    field="user", hint="Add the first one with `conveyor users add NAME --role "
                                                       "admin`.")
            return local_actor(), name
        own = name is None or name == identity.name
        require(identity.name, identity.role, "tokens.own" if own else "users.manage")
        return identity.name, name or identity.name

    def tokens(self, name: str | None = None) -> builtins.list[ApiToken]:
        """Tokens (never their secrets): the caller's own, or with ``name`` another identity's (admin)."""
        if name is None and self.whoami() is None:
            return self.stores.identities.tokens()
        _, target = self._for(name)
        return self.stores.identities.tokens(target)

    def create_token(self, name: str | None = None, *, expires: Lifetime = None,
                     description: str = "") -> ids.NewToken:
        """Another token for the caller (or, for an admin, for ``name``)."""
        actor, target = self._for(name)
        return ids.create_token(self.stores, target, actor=actor, expires_in=_lifetime(expires),
                                description=description)

    def revoke_token(self, token_id: str) -> ApiToken:
        owner = next((t.identity for t in self.stores.identities.tokens() if t.id == token_id), None)
        actor, _ = self._for(owner)
        return ids.revoke_token(self.stores, token_id, actor=actor)

    def grant(self, name: str, role: str, *, model: str | None = None, dataset: str | None = None) -> Grant:
        """Give ``name`` the role ``role`` on one model or dataset, beside its project role (admin)."""
        actor, _ = self._caller("users.manage")
        kind, target = _object(model, dataset)
        return ids.grant(self.stores, name, kind, target, role, actor=actor)

    def ungrant(self, name: str, *, model: str | None = None, dataset: str | None = None) -> None:
        actor, _ = self._caller("users.manage")
        kind, target = _object(model, dataset)
        ids.revoke_grant(self.stores, name, kind, target, actor=actor)

    def grants(self, name: str | None = None) -> builtins.list[Grant]:
        self._caller("users.manage")
        return self.stores.identities.grants(name)
