"""``project.models`` against a server: promotion goes through the server's gates; ``load`` downloads the package
and checks its bytes against the version's hash before loading."""

from __future__ import annotations

import builtins
import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.client._base import RemoteAPI
from conveyor.core.entities import AliasChange, ApprovalRequest, AuditEntry, ModelVersion
from conveyor.core.errors import IntegrityError
from conveyor.core.refs import ModelRef
from conveyor.registry.loaded import LoadedModel
from conveyor.registry.packaging import load_model_bytes
from conveyor.store.hashing import digest_bytes

ModelRefLike = str | ModelRef


def _promotion(answer: dict[str, Any]) -> AliasChange | ApprovalRequest:
    """The server's answer to a promotion: the alias change, or the request waiting for an approval."""
    if answer.get("status") == "pending_approval":
        fields = {k: v for k, v in answer.items() if k != "request"}
        return ApprovalRequest(**{**fields, "status": "pending"})
    return AliasChange(**answer)


_FIELDS = {f.name for f in dataclasses.fields(ModelVersion)}


def model_from(item: dict[str, Any]) -> ModelVersion:
    """A version from the server's JSON; fields a newer server adds are left out, not a TypeError."""
    return ModelVersion(**{k: v for k, v in item.items() if k in _FIELDS})


class RemoteModels(RemoteAPI):
    """:class:`~conveyor.project.models.ModelsAPI` over a server."""

    def get(self, ref: ModelRefLike) -> ModelVersion:
        return model_from(self.connection.get("/models/resolve", ref=str(ref)))

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]:
        return [model_from(item) for item in self.connection.items("/models", name=name)]

    def deleted(self, name: str | None = None) -> builtins.set[str]:
        return set(self.connection.get("/models/deleted", name=name)["items"])

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

    def promote(self, ref: str, alias: str, *, reason: str = "", override_gates: bool = False
                ) -> AliasChange | ApprovalRequest:
        version = self.get(ref)
        answer = self.connection.post(f"/models/{quote(version.name)}/aliases/{quote(alias)}",
                                      {"version": version.version, "reason": reason,
                                       "override_gates": override_gates})
        return _promotion(answer)

    def promote_to(self, ref: str, environment: str, *, reason: str = "", override_gates: bool = False
                   ) -> AliasChange | ApprovalRequest:
        version = self.get(ref)
        answer = self.connection.post(f"/models/{quote(version.name)}/versions/{version.version}/approvals",
                                      {"environment": environment, "reason": reason,
                                       "override_gates": override_gates})
        return _promotion(answer)

    def trust(self, ref: ModelRefLike, *, reason: str = "") -> dict[str, Any]:
        self._local_only("`conveyor models trust` (an approver vouching for a file's exact bytes)",
                         "Run it on the server's host with an approver's CONVEYOR_TOKEN.")

    def requests(self, *, status: str | None = "pending", model: str | None = None
                 ) -> builtins.list[ApprovalRequest]:
        return [ApprovalRequest(**item)
                for item in self.connection.items("/approvals", None, status=status or "all", model=model)]

    def approve(self, request_id: str, *, reason: str = "") -> AliasChange:
        return AliasChange(**self.connection.post(f"/approvals/{quote(request_id)}/approve", {"reason": reason}))

    def reject(self, request_id: str, *, reason: str = "") -> ApprovalRequest:
        return ApprovalRequest(**self.connection.post(f"/approvals/{quote(request_id)}/reject", {"reason": reason}))

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
