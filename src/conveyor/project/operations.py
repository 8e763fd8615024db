"""``project.operations``: day-2 operations on the project's stores — garbage collection under ``retention:``,
erasure of personal data, backups.

`conveyor gc`, `conveyor data forget` and `conveyor backup` call these; docs/operations.md walks through them.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from conveyor.core.errors import BadInputError
from conveyor.core.settings import PROJECT_FILE, STATE_DIR, Settings
from conveyor.project._base import LocalAPI
from conveyor.registry.models import current_actor
from conveyor.store.backends import open_artifact_store
from conveyor.store.backup import backup_stores, check_restore_target, read_manifest, restore_stores
from conveyor.store.encrypted_artifacts import EncryptedArtifactStore
from conveyor.store.retention import GcReport, RetentionPolicy, collect

if TYPE_CHECKING:
    from conveyor.data.erasure import ErasureReport


class OperationsAPI(Protocol):
    """Garbage collection, erasure and backups."""

    def gc(self, *, dry_run: bool = False) -> GcReport: ...

    def forget(self, name: str, *, where: str | None = None, values: Sequence[str] = (),
               columns: Sequence[str] = ()) -> ErasureReport: ...

    def backup(self, dest: str | Path) -> dict[str, Any]: ...


class LocalOperations(LocalAPI):
    """:class:`OperationsAPI` on this project's stores."""

    def _policy(self) -> RetentionPolicy:
        section = self.config.retention
        return RetentionPolicy(datasets=section.datasets, models=section.models, runs=section.runs,
                               predictions=section.predictions, grace=section.grace)

    def gc(self, *, dry_run: bool = False) -> GcReport:
        """Delete what ``retention:`` allows (never what an alias, a kept version's lineage or a pending approval
        needs), then the artifacts nothing names; ``dry_run`` only reports. Audited as one ``gc`` row."""
        archive_url = self.config.retention.archive
        archive = open_artifact_store(archive_url, field="retention.archive") if archive_url else None
        return collect(self.stores, self._policy(), actor=current_actor(), dry_run=dry_run,
                       archive=archive)

    def forget(self, name: str, *, where: str | None = None, values: Sequence[str] = (),
               columns: Sequence[str] = ()) -> ErasureReport:
        """Erase rows from dataset ``name`` and everything derived from it: those ``where`` selects (a pandas
        expression), or those holding any of ``values`` in ``columns`` (default: data.sensitive). Old versions are
        tombstoned, the newest written again without the rows; audited without the values."""
        from conveyor.data.erasure import Predicate, forget  # pandas: only when erasing

        predicate = Predicate(where, tuple(columns or self.config.data.sensitive), tuple(str(v) for v in values))
        return forget(self.stores, name, predicate, actor=current_actor())

    def backup(self, dest: str | Path) -> dict[str, Any]:
        """A consistent backup of the metadata store, every artifact (as stored), the audit anchor and the
        project's files into the new folder ``dest``, while writers keep writing; key ids, never keys."""
        files = {PROJECT_FILE: self.root / PROJECT_FILE}
        for folder in PROJECT_FOLDERS:
            files[folder] = self.root / folder
        anchor = self.config.security.audit.anchor
        if anchor:
            files[ANCHOR] = _resolve(self.root, anchor)
        return backup_stores(self.stores, Path(dest), files=files, keys=self._key_metadata())

    def _key_metadata(self) -> dict[str, Any]:
        """Which keys the backup needs to be read, by id and setting (the keys themselves stay where they are)."""
        audit = self.config.security.audit
        store = self.stores.artifacts
        encryption: dict[str, Any] = {"on": isinstance(store, EncryptedArtifactStore)}
        if isinstance(store, EncryptedArtifactStore):
            encryption |= {"key_ids": list(store.keyring._by_id()), "current": store.keyring.current_id,
                           "from": store.keyring.source}
        sealing = self.stores.registry.sealing
        public = sealing.public_key
        return {"encryption": encryption,
                "audit": {"key_file": audit.key_file, "signing_key_file": audit.signing_key_file,
                          "anchor": audit.anchor, "keyed": sealing.key is not None,
                          "public_key": public.public_bytes_raw().hex() if public is not None else None}}



PROJECT_FOLDERS = ("contracts", "pipelines")
ANCHOR = "audit-anchor.json"


def _resolve(root: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


def restore_project(src: str | Path, into: str | Path = ".") -> dict[str, Any]:
    """Rebuild a project from a backup into the folder ``into`` (its stores where CONVEYOR_DB_URL and
    CONVEYOR_ARTIFACTS say, else the embedded defaults there): the database must be empty. Keys are not in
    a backup: put them where conveyor.yaml names them."""
    src, root = Path(src), Path(into).resolve()
    manifest = read_manifest(src)
    if (root / PROJECT_FILE).exists():
        raise BadInputError(f"{root} already holds a project.", field="into",
                            hint="Restore into a new, empty folder (--into PATH).")
    root.mkdir(parents=True, exist_ok=True)
    (root / STATE_DIR).mkdir(exist_ok=True)
    settings = Settings.for_project(root)  # from the environment and the folder, not from conveyor.yaml
    check_restore_target(settings.db_url, settings.predictions_url)  # before any file lands: a refusal can be retried
    files = src / "files"
    notes: list[str] = []
    for relative in manifest.get("files", []):
        if relative == ANCHOR:
            continue
        source = files / relative
        if source.is_dir():
            shutil.copytree(source, root / relative, dirs_exist_ok=True)
        else:
            shutil.copy2(source, root / relative)
    if ANCHOR in manifest.get("files", []):
        config = yaml.safe_load((root / PROJECT_FILE).read_text()) or {}
        setting = str(((config.get("security") or {}).get("audit") or {}).get("anchor") or ANCHOR)
        target = _resolve(root, setting)
        if target.exists():
            target = root / ANCHOR
            notes.append(f"the audit anchor {setting} exists: the backup's is at {target}; compare them")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(files / ANCHOR, target)
    result = restore_stores(src, db_url=settings.db_url, artifacts_url=settings.artifacts_url,
                            predictions_url=settings.predictions_url)
    keys = manifest.get("keys", {})
    if keys.get("encryption", {}).get("on"):
        notes.append(f"encryption at rest: provide key(s) {', '.join(keys['encryption'].get('key_ids', []))} "
                     f"({keys['encryption'].get('from')})")
    for setting in ("key_file", "signing_key_file"):
        if keys.get("audit", {}).get(setting):
            notes.append(f"security.audit.{setting}: put the key at {keys['audit'][setting]}")
    return {"project": str(root), "tables": result["tables"], "artifacts": result["artifacts"],
            "backup_created_at": manifest["created_at"], "audit_head": manifest.get("audit_head"), "notes": notes}
