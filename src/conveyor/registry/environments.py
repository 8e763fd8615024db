"""Environments and approvals: promotion order, each environment's gates, and promotions that wait for another
user's approval.

With ``environments:`` in conveyor.yaml each environment's name is an alias (``churn@staging``), their order is the
promotion order, ``champion`` names the last one and ``challenger`` the one before it. Without it, aliases work as
they always did and ``registry.protected`` names the aliases whose promotions need an approval.

Approvals are enforced only when authentication is on (the caller says so through
:attr:`PromotionPolicy.authentication_on`); with no users the promotion happens and its audit row records
"approval skipped: no users". A request is approved or rejected by someone other than its requester, audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.config.sections.environments import ROLE_ALIASES, Environment, EnvironmentsSection
from conveyor.core.entities import AliasChange, ApprovalRequest, AuditNote, ModelVersion, new_id
from conveyor.core.errors import BadInputError, CheckFailedError, ConflictError, ForbiddenError, NotFoundError
from conveyor.core.refs import ModelRef, check_name
from conveyor.registry.environment_gates import GateMeasures, environment_gates
from conveyor.registry.models import check_not_deleted, current_actor, failed_gates, gate_check, resolve_model
from conveyor.store import Stores

__all__ = ["APPROVAL_SKIPPED", "ROLE_ALIASES", "GateMeasures", "Promotion", "PromotionPolicy", "approve",
           "environment_gates", "promote_to", "reject"]

APPROVAL_SKIPPED = "approval skipped: no users"
Promotion = AliasChange | ApprovalRequest


@dataclass(frozen=True)
class PromotionPolicy:
    """What a promotion obeys: the environments (maybe none), the protected aliases without them, and whether
    authentication is on (approvals are enforced only then)."""

    environments: EnvironmentsSection = field(default_factory=EnvironmentsSection)
    protected: tuple[str, ...] = ()
    authentication_on: bool = False
    # how much ``new`` beats ``old`` on a metric (positive: better); the project passes the evaluation's own
    improvement: Callable[[str, float, float], float] = lambda _metric, new, old: new - old
    # scoring on the newest data and timing predictions (the project's); gates that need them fail without
    measures: GateMeasures | None = None

    @property
    def enabled(self) -> bool:
        return self.environments.enabled

    def alias_for(self, alias: str) -> str:
        """The stored alias an alias names: with environments ``champion`` is the last one and ``challenger`` the one
        before it; any other alias is itself."""
        names = self.environments.names()
        if not names or alias not in ROLE_ALIASES:
            return alias
        if alias == "champion":
            return names[-1]
        if len(names) < 2:
            raise BadInputError(f"There is no challenger environment: conveyor.yaml has only {names[0]!r}.",
                                field="environments", hint="Add an environment before it, or name it.")
        return names[-2]

    def target(self, name: str) -> str:
        """The environment (or, without environments, the alias) a promotion ``--to name`` moves."""
        check_name(name, "environment")
        target = self.alias_for(name)
        if self.enabled and target not in self.environments.names():
            raise NotFoundError.for_name("environment", name, self.environments.names())
        return target

    def environment(self, name: str) -> Environment | None:
        return self.environments.get(name) if self.enabled and name in self.environments.names() else None

    def needs_approval(self, target: str) -> bool:
        env = self.environment(target)
        return env.approval if env is not None else (not self.enabled and target in self.protected)

    def check_alias(self, alias: str) -> None:
        """``promote --alias ENV`` is refused where ENV is an environment: environments move with ``--to``."""
        if self.enabled and alias in self.environments.names():
            raise BadInputError(f"{alias!r} is an environment: use --to {alias}.", field="alias",
                                hint=f"conveyor models promote MODEL:N --to {alias} (its order, gates and approval "
                                     "apply).")


def _check_order(stores: Stores, version: ModelVersion, target: str, policy: PromotionPolicy) -> None:
    names = policy.environments.names()
    if target not in names:
        return
    index = names.index(target)
    env = policy.environments.get(target)
    if index == 0 or not env.requires_previous:
        return
    before = names[index - 1]
    held = {c.version for c in stores.registry.alias_history(version.name, before)}
    if version.version not in held:
        raise CheckFailedError(f"{version.ref} has not been in {before!r}: environments are promoted in order "
                               f"({' -> '.join(names)}).", field="environment",
                               hint=f"Promote it --to {before} first, or set environments.{target}."
                                    "requires_previous: false in conveyor.yaml.")


def _plan(stores: Stores, version: ModelVersion, target: str, policy: PromotionPolicy, *, reason: str,
          override_gates: bool) -> dict[str, Any]:
    """Everything a promotion checks before it moves anything: the order, the gates (training and the
    environment's); the audit details when it may go ahead."""
    check_not_deleted(stores, version)
    stores.signing.verify(version.ref, version.artifact, version.flavor, version.meta)  # as a plain promote does
    _check_order(stores, version, target, policy)
    env_rules = environment_gates(stores, version, target, policy)
    failed = failed_gates(version) + [r for r in env_rules if not r["passed"]]
    details = gate_check(version, failed, reason=reason, override_gates=override_gates)
    if policy.enabled:
        details["environment"] = target
    if env_rules:
        details["environment_gates"] = [{"rule": r["rule"], "passed": r["passed"]} for r in env_rules]
    return details


def promote_to(stores: Stores, ref: str | ModelRef, to: str, policy: PromotionPolicy, *, reason: str = "",
               actor: str | None = None, override_gates: bool = False) -> Promotion:
    """Promote ``ref`` into environment ``to`` (or, without environments, alias ``to``): its order, its gates and
    its approval. Answers the alias change, or the pending :class:`ApprovalRequest` where an approval is needed
    and authentication is on."""
    actor = actor or current_actor()
    target = policy.target(to)
    version = resolve_model(stores, ref)
    details = _plan(stores, version, target, policy, reason=reason, override_gates=override_gates)
    if policy.needs_approval(target):
        if policy.authentication_on:
            request = stores.approvals.create(ApprovalRequest(
                new_id(), version.name, version.version, target, actor, reason=reason,
                details={"override_gates": override_gates, "checks": details}))
            stores.registry.append_audit(actor, "approval_requested", f"{version.name}@{target}",
                                         {"request": request.id, "version": version.version, "reason": reason})
            return request
        details["approval"] = APPROVAL_SKIPPED
    note = AuditNote(actor, "promote", details)
    return stores.registry.set_alias(version.name, target, version.version, audit=note)


def _pending(stores: Stores, request_id: str) -> ApprovalRequest:
    request = stores.approvals.get(request_id)
    if request is None:
        known = [r.id for r in stores.approvals.requests("pending")]
        raise NotFoundError.for_name("approval request", request_id, known)
    if request.status != "pending":
        raise ConflictError(f"Approval request {request_id} is already {request.status} (by {request.decided_by}).",
                            field="request", hint="See `conveyor models requests --all`.")
    return request


def _not_own(request: ApprovalRequest, actor: str, verb: str) -> None:
    if actor == request.requester:
        raise ForbiddenError(f"{actor} asked for request {request.id} ({request.ref} -> {request.environment}) and "
                             f"cannot {verb} it.", field="request",
                             hint="Another user with the right to approve decides it.")


def approve(stores: Stores, request_id: str, policy: PromotionPolicy, *, actor: str | None = None,
            reason: str = "") -> AliasChange:
    """Approve a pending request and carry out its promotion (its order and gates checked again, now)."""
    actor = actor or current_actor()
    request = _pending(stores, request_id)
    _not_own(request, actor, "approve")
    version = stores.registry.get_version(request.model, request.version)
    details = _plan(stores, version, request.environment, policy, reason=request.reason,
                    override_gates=bool(request.details.get("override_gates")))
    decided = stores.approvals.decide(request.id, "approved", actor, reason=reason)
    if decided is None:
        raise ConflictError(f"Approval request {request_id} was decided by someone else meanwhile.",
                            field="request", hint="See `conveyor models requests --all`.")
    stores.registry.append_audit(actor, "approve", f"{request.model}@{request.environment}",
                                 {"request": request.id, "version": request.version, "requester": request.requester,
                                  "reason": reason})
    details.update({"approval": request.id, "requested_by": request.requester, "approved_by": actor})
    note = AuditNote(actor, "promote", details)
    return stores.registry.set_alias(request.model, request.environment, request.version, audit=note)


def reject(stores: Stores, request_id: str, *, actor: str | None = None, reason: str = "") -> ApprovalRequest:
    """Reject a pending request (audited); nothing moves."""
    actor = actor or current_actor()
    request = _pending(stores, request_id)
    _not_own(request, actor, "reject")
    decided = stores.approvals.decide(request.id, "rejected", actor, reason=reason)
    if decided is None:
        raise ConflictError(f"Approval request {request_id} was decided by someone else meanwhile.",
                            field="request", hint="See `conveyor models requests --all`.")
    stores.registry.append_audit(actor, "reject", f"{request.model}@{request.environment}",
                                 {"request": request.id, "version": request.version, "requester": request.requester,
                                  "reason": reason})
    return decided
