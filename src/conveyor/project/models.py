"""``project.models``: the model registry, as `conveyor models ...` works with it."""

from __future__ import annotations

import builtins
import warnings
from pathlib import Path
from typing import Any, Protocol

from conveyor.core.entities import AliasChange, AuditEntry, ModelVersion
from conveyor.core.refs import ModelRef
from conveyor.project._base import LocalAPI
from conveyor.registry import cards, importing, integrity
from conveyor.registry import models as registry
from conveyor.registry.loaded import LoadedModel

ModelRefLike = str | ModelRef


class ModelsAPI(Protocol):
    """Model versions, their aliases, the audit trail and model cards."""

    def get(self, ref: ModelRefLike) -> ModelVersion: ...

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]: ...

    def aliases(self, name: str) -> dict[str, int]: ...

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasChange]: ...

    def load(self, ref: ModelRefLike | ModelVersion) -> LoadedModel: ...

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False) -> AliasChange: ...

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange: ...

    def import_(self, path: str | Path, name: str, *, data: str | None = None, trust: bool = False
                ) -> ModelVersion: ...

    def audit(self) -> builtins.list[AuditEntry]: ...

    def verify(self) -> int: ...

    def card(self, ref: ModelRefLike) -> dict[str, Any]: ...


class LocalModels(LocalAPI):
    """:class:`ModelsAPI` on this project's stores."""

    def get(self, ref: ModelRefLike) -> ModelVersion:
        """``MODEL:N``, ``MODEL@ALIAS`` or ``MODEL`` (its newest version)."""
        return registry.resolve_model(self.stores, ref)

    def aliases(self, name: str) -> dict[str, int]:
        return self.stores.registry.aliases(name)

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasChange]:
        """Every move of ``name@alias``, oldest first (an unknown model is NotFoundError)."""
        registry.resolve_model(self.stores, name)
        return self.stores.registry.alias_history(name, alias)

    def load(self, ref: ModelRefLike | ModelVersion) -> LoadedModel:
        """The model, ready to predict (its bytes checked against their hash first)."""
        return registry.load_model(self.stores, ref)

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False) -> AliasChange:
        """Point ``alias`` at ``ref`` (audited); a version that failed its gates needs ``override_gates`` and a
        reason."""
        return registry.promote(self.stores, ref, alias, reason=reason, override_gates=override_gates)

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange:
        """Move ``alias`` back to the version it held before its latest promotion."""
        return registry.rollback(self.stores, name, alias, reason=reason)

    def import_(self, path: str | Path, name: str, *, data: str | None = None, trust: bool = False
                ) -> ModelVersion:
        """Register a model trained elsewhere (`conveyor models import`), with lineage to ``data``."""
        return importing.import_model(self.stores, path, name, data=data, trust=trust, project_root=self.root)

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

    def __call__(self, name: str | None = None) -> builtins.list[ModelVersion]:
        warnings.warn("project.models(...) is deprecated; use project.models.list(...).", DeprecationWarning,
                      stacklevel=2)
        return self.list(name)
