"""``project.models``: the model registry, as `conveyor models ...` works with it."""

from __future__ import annotations

import builtins
import os
import warnings
from pathlib import Path
from typing import Any, Protocol

from conveyor.core.entities import AliasChange, ApprovalRequest, AuditEntry, ModelVersion
from conveyor.core.refs import ModelRef
from conveyor.project._base import LocalAPI
from conveyor.project._options import promotion_policy
from conveyor.registry import cards, environments, importing, integrity, trust
from conveyor.registry import models as registry
from conveyor.registry.loaded import LoadedModel
from conveyor.security import authorize

ModelRefLike = str | ModelRef


class ModelsAPI(Protocol):
    """Model versions, their aliases, the audit trail and model cards."""

    def get(self, ref: ModelRefLike) -> ModelVersion: ...

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]: ...

    def deleted(self, name: str | None = None) -> builtins.set[str]: ...

    def aliases(self, name: str) -> dict[str, int]: ...

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasChange]: ...

    def load(self, ref: ModelRefLike | ModelVersion) -> LoadedModel: ...

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False
                ) -> AliasChange | ApprovalRequest: ...

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange: ...

    def promote_to(self, ref: str, environment: str, *, reason: str = "", override_gates: bool = False
                   ) -> AliasChange | ApprovalRequest: ...

    def requests(self, *, status: str | None = "pending", model: str | None = None
                 ) -> builtins.list[ApprovalRequest]: ...

    def approve(self, request_id: str, *, reason: str = "") -> AliasChange: ...

    def reject(self, request_id: str, *, reason: str = "") -> ApprovalRequest: ...

    def import_(self, path: str | Path, name: str, *, data: str | None = None, trust: bool = False
                ) -> ModelVersion: ...

    def trust(self, ref: ModelRefLike, *, reason: str = "") -> dict[str, Any]: ...

    def audit(self) -> builtins.list[AuditEntry]: ...

    def verify(self) -> int: ...

    def card(self, ref: ModelRefLike) -> dict[str, Any]: ...


class LocalModels(LocalAPI):
    """:class:`ModelsAPI` on this project's stores."""

    def get(self, ref: ModelRefLike) -> ModelVersion:
        """``MODEL:N``, ``MODEL@ALIAS`` or ``MODEL`` (its newest version); with environments ``@champion`` is the
        last one and ``@challenger`` the one before it."""
        return registry.resolve_model(self.stores, self._resolve_alias(ref))

    def _resolve_alias(self, ref: ModelRefLike) -> ModelRef:
        """``ref`` with ``@champion``/``@challenger`` named by their environment where there are environments."""
        parsed = ref if isinstance(ref, ModelRef) else ModelRef.parse(ref)
        if parsed.alias is None:
            return parsed
        return ModelRef(parsed.name, alias=promotion_policy(self._project).alias_for(parsed.alias))

    def aliases(self, name: str) -> dict[str, int]:
        return self.stores.registry.aliases(name)

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasChange]:
        """Every move of ``name@alias``, oldest first (an unknown model is NotFoundError)."""
        registry.resolve_model(self.stores, name)
        return self.stores.registry.alias_history(name, alias)

    def load(self, ref: ModelRefLike | ModelVersion) -> LoadedModel:
        """The model, ready to predict (its bytes checked against their hash first)."""
        return registry.load_model(self.stores, ref)

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False
                ) -> AliasChange | ApprovalRequest:
        """Point ``alias`` at ``ref`` (audited); a version that failed its gates needs ``override_gates`` and a
        reason. With environments, ``champion``/``challenger`` promote into their environment (its order, gates
        and approval) and an environment's own name is refused (use :meth:`promote_to`); a protected alias
        (registry.protected) waits for an approval when authentication is on: the request is returned."""
        policy = promotion_policy(self._project)
        policy.check_alias(alias)
        if (policy.enabled and alias in environments.ROLE_ALIASES) or policy.needs_approval(alias):
            return environments.promote_to(self.stores, ref, alias, policy, reason=reason,
                                           override_gates=override_gates)
        return registry.promote(self.stores, ref, alias, reason=reason, override_gates=override_gates)

    def promote_to(self, ref: str, environment: str, *, reason: str = "", override_gates: bool = False
                   ) -> AliasChange | ApprovalRequest:
        """Promote into ``environment`` (its order, gates and approval): the alias change, or the pending
        approval request where another user must approve (authentication on)."""
        return environments.promote_to(self.stores, ref, environment, promotion_policy(self._project),
                                       reason=reason, override_gates=override_gates)

    def requests(self, *, status: str | None = "pending", model: str | None = None
                 ) -> builtins.list[ApprovalRequest]:
        """Approval requests (pending ones by default; ``status=None`` for all), oldest first."""
        return self.stores.approvals.requests(status, model)

    def approve(self, request_id: str, *, reason: str = "") -> AliasChange:
        """Approve another user's request and carry out its promotion (checked again now; audited)."""
        return environments.approve(self.stores, request_id, promotion_policy(self._project), reason=reason)

    def reject(self, request_id: str, *, reason: str = "") -> ApprovalRequest:
        """Reject another user's request (audited); nothing moves."""
        return environments.reject(self.stores, request_id, reason=reason)

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange:
        """Move ``alias`` back to the version it held before its latest promotion."""
        return registry.rollback(self.stores, name, promotion_policy(self._project).alias_for(alias),
                                 reason=reason)

    def import_(self, path: str | Path, name: str, *, data: str | None = None, trust: bool = False
                ) -> ModelVersion:
        """Register a model trained elsewhere (`conveyor models import`), with lineage to ``data``."""
        return importing.import_model(self.stores, path, name, data=data, trust=trust, project_root=self.root)

    def trust(self, ref: ModelRefLike, *, reason: str = "") -> dict[str, Any]:
        """Make a pickle imported without --trust loadable: its exact bytes' digest is recorded in the audit trail
        under the caller (an approver once authentication is on, from ``CONVEYOR_TOKEN``)."""
        version = self.get(ref)
        actor = authorize(self.stores, "models.trust", os.environ.get("CONVEYOR_TOKEN"), kind="model",
                          target=version.name)
        return trust.trust_model(self.stores, version, actor=actor, reason=reason)

    def audit(self) -> builtins.list[AuditEntry]:
        """The registry's audit trail, oldest first."""
        return self.stores.registry.audit_log()

    def verify(self) -> int:
        """Check the audit chain and that the registry matches it; IntegrityError if not. Returns rows checked."""
        return integrity.verify_registry(self.stores)

    def card(self, ref: ModelRefLike) -> dict[str, Any]:
        """The model card of a version: intended use, data, training, metrics, gates, fairness, limitations."""
        version = self.get(ref)
        run = self.stores.runs.get(version.run_id) if version.run_id else None
        return cards.build_card(version, run, self.aliases(version.name))

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]:
        """Every model version (of ``name`` only, when given)."""
        if name is not None:
            registry.resolve_model(self.stores, name)  # unknown name -> NotFoundError with "did you mean"
        return self.stores.registry.versions(name)

    def deleted(self, name: str | None = None) -> builtins.set[str]:
        """The refs (``NAME:N``) of the versions an MLflow client deleted (of ``name`` only, when given): Conveyor
        keeps them (artifact, lineage, audit rows), MLflow clients no longer see them, and listings mark them."""
        return {f"{note.name}:{note.version}" for note in self.stores.registry.notes(name)
                if note.deleted and note.version}

    def __call__(self, name: str | None = None) -> builtins.list[ModelVersion]:
        warnings.warn("project.models(...) is deprecated; use project.models.list(...).", DeprecationWarning,
                      stacklevel=2)
        return self.list(name)
