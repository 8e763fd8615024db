"""``project.audit_trail``: the audit trail's integrity, as `conveyor audit ...` works with it.

The trail is keyed and anchored by ``security.audit`` in conveyor.yaml (:func:`audit_sealing` reads it when the
project opens); :meth:`LocalAudit.verify` checks the chain, the anchor and the registry against the trail.
"""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Protocol

from conveyor.core.config import ProjectConfig
from conveyor.core.entities import AuditEntry
from conveyor.core.errors import BadInputError
from conveyor.project._base import LocalAPI
from conveyor.registry.integrity import verify_trail
from conveyor.store.audit import AuditSealing, AuditVerdict, verify_entries
from conveyor.store.signing import ModelSigning


class AuditAPI(Protocol):
    """The audit trail: its rows, its verification, its anchor."""

    def entries(self) -> builtins.list[AuditEntry]: ...

    def verify(self) -> AuditVerdict: ...

    def anchor(self) -> AuditEntry | None: ...


def _path(root: Path, value: str | None) -> Path | None:
    return None if not value else (root / Path(value).expanduser())


def audit_sealing(root: Path, config: ProjectConfig) -> AuditSealing:
    """The key and anchor that ``security.audit`` names (paths relative to the project folder)."""
    keys = config.security.audit
    if not (keys.key_file or keys.signing_key_file or keys.anchor):
        return AuditSealing()
    return AuditSealing.from_files(_path(root, keys.key_file), _path(root, keys.signing_key_file),
                                   _path(root, keys.anchor))


def model_signing(root: Path, config: ProjectConfig) -> ModelSigning:
    """The model signing and verifying keys that ``security.models`` names."""
    keys = config.security.models
    if not (keys.signing_key_file or keys.public_key_file):
        return ModelSigning()
    return ModelSigning.from_files(_path(root, keys.signing_key_file), _path(root, keys.public_key_file))


class LocalAudit(LocalAPI):
    """:class:`AuditAPI` on this project's stores."""

    def entries(self) -> builtins.list[AuditEntry]:
        """Every row, oldest first."""
        return self.stores.registry.audit_log()

    def verify(self) -> AuditVerdict:
        """The chain (with its key), the signed anchor, and the registry against the trail; IntegrityError naming
        the first bad row otherwise."""
        return verify_trail(self.stores)

    def anchor(self) -> AuditEntry | None:
        """Sign the chain's current head to the anchor file now (after checking the chain); the head, or None for an
        empty trail."""
        sealing = self.stores.registry.sealing
        if sealing.anchor is None:
            raise BadInputError("No anchor is configured.", field="security.audit.anchor",
                                hint="Set security.audit.anchor and security.audit.signing_key_file in "
                                     "conveyor.yaml.")
        entries = self.stores.registry.audit_log()
        if not entries:
            return None
        if sealing.anchor.exists():
            sealing.verify(entries)  # never move a signed anchor over a trail that no longer matches it
        else:
            verify_entries(entries, sealing.key)
        sealing.seal(entries[-1])
        return entries[-1]
