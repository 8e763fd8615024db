"""Who may do a governance action from project code: the identity acting now (set by the CLI from
``CONVEYOR_TOKEN``, or by the platform server per request), checked against the roles matrix."""

from __future__ import annotations

import os

from conveyor.core.actors import authenticated_actor
from conveyor.security import authorize, require
from conveyor.store import Stores


def acting_for(stores: Stores, action: str, *, kind: str | None = None, target: str | None = None) -> str:
    """The actor doing ``action`` (on the ``kind``, model or dataset, named ``target``); PermissionDeniedError
    when its role (or a grant on that object) does not allow it. With authentication off, the local actor."""
    name = authenticated_actor()
    identity = stores.identities.get_identity(name) if name else None
    if identity is None or not identity.active:
        return authorize(stores, action, os.environ.get("CONVEYOR_TOKEN"), kind=kind, target=target)
    grants = stores.identities.grants(identity.name) if kind is not None else []
    require(identity.name, identity.role, action, grants, kind, target)
    return identity.name
