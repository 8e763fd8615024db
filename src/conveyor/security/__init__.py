"""Identities, roles and the permission matrix (L2, beside the registry; it reads the identities role store).

* :mod:`conveyor.security.roles`: the four roles and ``allowed(role, action)``, the one permission matrix every
  enforcement point (the REST API, the CLI's governance verbs) asks;
* :mod:`conveyor.security.identities`: users and service identities, API tokens (random, shown once, stored hashed,
  with expiry and revocation), ``authenticate(stores, token)``, ``authentication_on(stores)`` and the bootstrap
  admin read from ``CONVEYOR_BOOTSTRAP_TOKEN_FILE``.
"""

from conveyor.security.identities import (
    FailureThrottle,
    NewToken,
    add_identity,
    authenticate,
    authentication_on,
    authorize,
    bootstrap_admin,
    create_token,
    grant,
    revoke_grant,
    revoke_identity,
    revoke_token,
)
from conveyor.security.roles import ACTIONS, ROLES, allowed, allowed_on, check_role, require

__all__ = ["ACTIONS", "ROLES", "FailureThrottle", "NewToken", "add_identity", "allowed", "allowed_on", "authenticate",
           "authentication_on", "authorize", "bootstrap_admin", "check_role", "create_token", "grant", "require",
           "revoke_grant", "revoke_identity", "revoke_token"]
