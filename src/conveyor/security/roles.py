"""The roles of a project and the one permission matrix: ``allowed(role, action)``.

Every enforcement point asks this table: the platform server maps each route to one action, the CLI's governance
verbs name theirs. An action the table does not know raises (never "allowed"), so a new route without a rule fails
its test instead of opening silently.

Roles: ``viewer`` reads; ``scientist`` reads and does the daily loop (ingest, train, register, move unprotected
aliases, monitor); ``approver`` reads, approves promotions to protected aliases and trusts imported pickles;
``admin`` may do everything, including users, tokens of others and settings. Four eyes (an approver other than the
requester) is the approval flow's rule, not this table's. Per-model and per-dataset grants add a role on one object
(``allowed_on``): a viewer granted ``approver`` on model ``churn`` may approve ``churn``'s promotions only.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.core.errors import BadInputError, PermissionDeniedError
from conveyor.store.identities import Grant

__all__ = ["ACTIONS", "ROLES", "allowed", "allowed_on", "check_role", "require"]

ROLES = ("viewer", "scientist", "approver", "admin")

_READERS = frozenset(ROLES)
_SCIENTISTS = frozenset({"scientist", "admin"})
_APPROVERS = frozenset({"approver", "admin"})
_ADMINS = frozenset({"admin"})

#: action -> the roles allowed to do it
ACTIONS: dict[str, frozenset[str]] = {
    "read": _READERS,  # datasets, runs, models, reports, monitoring, alerts, the audit trail
    "models.download": _READERS,  # a model's artifact bytes (audited)
    "tokens.own": _READERS,  # create and revoke one's own tokens, whoami
    "data.write": _SCIENTISTS,  # ingest, add, contracts
    "runs.write": _SCIENTISTS,  # train, log runs and metrics
    "models.register": _SCIENTISTS,  # register and import models
    "models.promote": _SCIENTISTS,  # move an unprotected alias, rollback; request a protected promotion
    "monitor.write": _SCIENTISTS,  # monitor, retrain, alerts acknowledgement
    "models.approve": _APPROVERS,  # approve or reject a promotion to a protected alias
    "models.trust": _APPROVERS,  # make an imported pickle loadable
    "feedback.relabel": _APPROVERS,  # change a prediction's label once it has one (a correction)
    "users.manage": _ADMINS,  # add, list and revoke identities; tokens of others
    "settings.write": _ADMINS,  # conveyor.yaml through the API, key rotation, audit anchors
}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInputError(f"Unknown role {role!r}.", field="role", hint=f"Use one of: {', '.join(ROLES)}.")
    return role


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``. An unknown action raises BadInputError; an unknown role is allowed
    nothing."""
    roles = ACTIONS.get(action)
    if roles is None:
        raise BadInputError(f"No permission rule for action {action!r}.", field="action",
                            hint=f"Add it to conveyor.security.roles.ACTIONS (known: {', '.join(sorted(ACTIONS))}).")
    return role in roles


def allowed_on(role: str, grants: Iterable[Grant], action: str, kind: str | None = None,
               name: str | None = None) -> bool:
    """Whether an identity with project role ``role`` and ``grants`` may do ``action`` on the ``kind`` (model or
    dataset) named ``name``: its project role allows it, or a grant on that very object gives a role that does.
    Grants only add: they never take away what the project role allows."""
    if allowed(role, action):
        return True
    return kind is not None and any(g.kind == kind and g.name == name and allowed(g.role, action) for g in grants)


def require(name: str, role: str, action: str, grants: Iterable[Grant] = (), kind: str | None = None,
            target: str | None = None) -> None:
    """Raise PermissionDeniedError unless ``role`` (of identity ``name``, with its ``grants`` on the ``kind``
    named ``target``) may do ``action``."""
    if not allowed_on(role, grants, action, kind, target):
        who = sorted(ACTIONS[action])
        raise PermissionDeniedError(f"{name!r} ({role}) may not do {action}.", field="role",
                                    hint=f"Ask an admin; {action} needs the role {' or '.join(who)}.")
