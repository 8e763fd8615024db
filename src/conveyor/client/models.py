"""``project.models`` against a server: promotion goes through the server's gates; ``load`` downloads the package
and checks its bytes against the version's hash before loading."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.client._base import RemoteAPI
from conveyor.core.entities import AliasChange, AuditEntry, ModelVersion
from conveyor.core.errors import IntegrityError
from conveyor.core.refs import ModelRef
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.packaging import load_model_bytes
from conveyor.store.hashing import digest_bytes

ModelRefLike = str | ModelRef


def model_from(item: dict[str, Any]) -> ModelVersion:
    return ModelVersion(**item)


class RemoteModels(RemoteAPI):
    """:class:`~conveyor.project.models.ModelsAPI` over a server."""

    def get(self, ref: ModelRefLike) -> ModelVersion:
        return model_from(self.connection.get("/models/resolve", ref=str(ref)))

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]:
        return [model_from(item) for item in self.connection.items("/models", name=name)]

    def aliases(self, name: str) -> dict[str, int]:
        return self.connection.get(f"/models/{quote(name)}/aliases")

    def alias_history(self, name: str, alias: str) -> builtins.list[AliasChange]:
        path = f"/models/{quote(name)}/aliases/{quote(alias)}/history"
        return [AliasChange(**c) for c in self.connection.items(path)]

    def load(self, ref: ModelRefLike | ModelVersion) -> LoadedModel:
        version = ref if isinstance(ref, ModelVersion) else self.get(ref)
        data = self.connection.content(f"/models/{quote(version.name)}/versions/{version.version}/file")
        if digest_bytes(data) != version.artifact:
            raise IntegrityError(f"The package of {version.ref} from {self.connection.url} does not match its hash.",
                                 field="model", hint="Download it again; if it persists, run `conveyor models "
                                                     "verify` on the server.")
        return LoadedModel(version, load_model_bytes(data, version.flavor))

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False) -> AliasChange:
        version = self.get(ref)
        change = self.connection.post(f"/models/{quote(version.name)}/aliases/{quote(alias)}",
                                      {"version": version.version, "reason": reason,
                                       "override_gates": override_gates})
        return AliasChange(**change)

    def rollback(self, name: str, alias: str = "champion", *, reason: str = "") -> AliasChange:
        return AliasChange(**self.connection.post(f"/models/{quote(name)}/aliases/{quote(alias)}/rollback",
                                                  {"reason": reason}))

    def import_(self, path: str | Path, name: str, *, data: str | None = None, trust: bool = False
                ) -> ModelVersion:
        self._local_only("`conveyor models import`")

    def audit(self) -> builtins.list[AuditEntry]:
        return [AuditEntry(**e) for e in self.connection.items("/audit")]

    def verify(self) -> int:
        return int(self.connection.post("/audit/verify")["verified"])

    def card(self, ref: ModelRefLike) -> dict[str, Any]:
        return self.connection.get("/models/card", ref=str(ref))
