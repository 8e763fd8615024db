"""The registry role: numbered model versions, aliases with their history, and the hash-chained audit trail.

Registry writes and their audit rows commit together: ``create_version`` and ``set_alias`` take an optional
:class:`~conveyor.core.entities.AuditNote` and write its audit row in the same transaction (both or neither).

Interface (:class:`RegistryStore`; ``conveyor.testing.registry_store_contract`` checks every implementation):

* ``create_version(mv, audit=None)`` records ``mv`` under the next free number of ``mv.name`` (from 1, never
  repeated, also under concurrent writers) and returns it numbered; the audit subject is ``NAME:N``.
* ``versions(name=None)`` lists versions ordered by name, then number; ``names()`` the model names, sorted;
  ``get_version(name, n)`` one version, or :class:`NotFoundError` ("did you mean" for an unknown name).
* ``set_alias(name, alias, version, audit=None)`` points an alias at an existing version (None removes it),
  appends to ``alias_history`` (oldest first) and returns the change; the audit subject is ``NAME@ALIAS`` and its
  details gain ``version`` and ``previous``. A missing version is refused before anything is written.
* ``annotate(name, version, description=, tags=, untag=, deleted=, audit=None)`` changes the note MLflow clients
  keep on a registered model (``version`` 0, no version needed) or on an existing version: a description, tags
  (set, and ``untag`` removes keys) and a deleted mark; ``notes(name=None)`` lists them, ordered by name, then
  number. With ``audit`` its row (subject ``NAME`` or ``NAME:N``) lands in the same transaction.
* ``append_audit`` adds a row to the append-only chain (sequence numbers from 1, no gaps, also under concurrent
  writers); ``audit_log()`` lists it in sequence order; ``verify_audit()`` recomputes the chain and raises
  :class:`IntegrityError` at the first edited row or gap. With ``sealing`` (``security.audit``) each new row's hash
  is keyed and the chain's head is signed to the anchor file after every write (:mod:`conveyor.store.audit`).
* Every method is safe to call from several threads; records handed out are copies.
"""

from __future__ import annotations

import abc
import copy
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.core.entities import AliasChange, AuditEntry, AuditNote, ModelNote, ModelVersion
from conveyor.core.errors import NotFoundError
from conveyor.store.audit import GENESIS, AuditSealing, AuditVerdict, chained_entry

__all__ = ["InMemoryRegistryStore", "NoteChange", "RegistryStore", "alias_audit_details", "note_subject"]


def alias_audit_details(audit: AuditNote, version: int | None, previous: int | None) -> dict[str, Any]:
    """What an alias change's audit row records: the note's details plus the new and previous versions."""
    return {**audit.details, "version": version, "previous": previous}


@dataclass(frozen=True)
class NoteChange:
    description: str | None
    tags: dict[str, str]
    untag: tuple[str, ...]
    deleted: bool | None

    def apply(self, note: ModelNote) -> ModelNote:
        tags = {k: v for k, v in {**note.tags, **self.tags}.items() if k not in self.untag}
        return ModelNote(note.name, note.version, note.description if self.description is None else self.description,
                         tags, note.deleted if self.deleted is None else self.deleted)


def note_subject(name: str, version: int) -> str:
    return f"{name}:{version}" if version else name


class RegistryStore(abc.ABC):
    """Model versions, aliases and the audit trail; see the module docstring for the contract."""

    url: str
    #: the audit chain's key and anchor (``security.audit``); set by the project that opens the store
    sealing: AuditSealing = AuditSealing()

    @abc.abstractmethod
    def create_version(self, mv: ModelVersion, audit: AuditNote | None = None) -> ModelVersion:
        """Record ``mv`` under the next free version number of ``mv.name``; return it numbered. With ``audit``, its
        row (subject ``NAME:N``) is written in the same transaction."""

    @abc.abstractmethod
    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Ordered by name, then version."""

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The versions run ``run_id`` (a full id) produced, ordered by name, then version; a backend reads only
        those (a run page asks this; scanning every version is the fallback here)."""
        return [m for m in self.versions() if m.run_id == run_id]

    @abc.abstractmethod
    def aliases(self, name: str) -> dict[str, int]:
        """Alias -> version of model ``name`` (empty for an unknown model)."""

    @abc.abstractmethod
    def alias_history(self, name: str, alias: str) -> list[AliasChange]:
        """Oldest first."""

    @abc.abstractmethod
    def append_audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditEntry: ...

    @abc.abstractmethod
    def notes(self, name: str | None = None) -> list[ModelNote]:
        """Ordered by name, then version (0, the registered model, first)."""

    @abc.abstractmethod
    def audit_log(self) -> list[AuditEntry]:
        """Every audit row, in sequence order."""

    # hooks
    @abc.abstractmethod
    def _find_version(self, name: str, version: int) -> ModelVersion | None: ...

    @abc.abstractmethod
    def _move_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None) -> AliasChange:
        """Point (or with None, remove) the alias, append the change to its history and, with ``audit``, write the
        audit row (subject ``NAME@ALIAS``, details from :func:`alias_audit_details`): all in one transaction.
        ``version`` is known to exist."""

    @abc.abstractmethod
    def _write_note(self, name: str, version: int, change: NoteChange, audit: AuditNote | None) -> ModelNote:
        """Apply ``change`` to the note (a missing one starts empty) and, with ``audit``, write its row (subject
        ``NAME`` for version 0, else ``NAME:N``): in one transaction."""

    # derived
    def names(self) -> list[str]:
        return sorted({m.name for m in self.versions()})

    def get_version(self, name: str, version: int) -> ModelVersion:
        found = self._find_version(name, version)
        if found is not None:
            return found
        names = self.names()
        if name not in names:
            raise NotFoundError.for_name("model", name, names)
        raise NotFoundError(f"Model {name!r} has no version {version}.", hint=f"See `conveyor models show {name}`.")

    def set_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None = None) -> AliasChange:
        """Point ``alias`` at ``version`` (None removes it); with ``audit``, its row lands in the same transaction."""
        if version is not None:
            self.get_version(name, version)
        return self._move_alias(name, alias, version, audit)

    def annotate(self, name: str, version: int = 0, *, description: str | None = None,
                 tags: Mapping[str, str] | None = None, untag: Iterable[str] = (), deleted: bool | None = None,
                 audit: AuditNote | None = None) -> ModelNote:
        """Change what MLflow clients keep about model ``name`` (``version`` 0) or its version ``version`` (which
        must exist); None leaves a field as it is."""
        if version:
            self.get_version(name, version)
        change = NoteChange(description, {str(k): str(v) for k, v in (tags or {}).items()}, tuple(untag), deleted)
        return self._write_note(name, version, change, audit)

    def verify_audit(self) -> int:
        """Recompute the chain; return the number of rows, or raise IntegrityError at the first bad row."""
        return self.verify_sealed().rows

    def verify_sealed(self) -> AuditVerdict:
        """The chain with its key, and the signed anchor when one is configured."""
        return self.sealing.verify(self.audit_log())


class InMemoryRegistryStore(RegistryStore):
    """Versions, aliases and the audit trail behind one lock, so a change and its audit row land together."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._models: dict[tuple[str, int], ModelVersion] = {}
        self._aliases: dict[tuple[str, str], int] = {}
        self._alias_log: list[AliasChange] = []
        self._audit: list[AuditEntry] = []
        self._notes: dict[tuple[str, int], ModelNote] = {}

    def create_version(self, mv: ModelVersion, audit: AuditNote | None = None) -> ModelVersion:
        with self._lock:
            numbered = copy.deepcopy(mv)
            numbered.version = max((v for (n, v) in self._models if n == mv.name), default=0) + 1
            self._models[(mv.name, numbered.version)] = numbered
            if audit is not None:
                self.append_audit(audit.actor, audit.action, numbered.ref, audit.details)
            return copy.deepcopy(numbered)

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        with self._lock:
            return copy.deepcopy([m for (n, _), m in sorted(self._models.items()) if name is None or n == name])

    def _find_version(self, name: str, version: int) -> ModelVersion | None:
        with self._lock:
            return copy.deepcopy(self._models.get((name, version)))

    def _move_alias(self, name: str, alias: str, version: int | None, audit: AuditNote | None) -> AliasChange:
        with self._lock:
            previous = self._aliases.get((name, alias))
            if version is None:
                self._aliases.pop((name, alias), None)
            else:
                self._aliases[(name, alias)] = version
            change = AliasChange(name, alias, version, previous)
            self._alias_log.append(change)
            if audit is not None:
                self.append_audit(audit.actor, audit.action, f"{name}@{alias}",
                                  alias_audit_details(audit, version, previous))
            return copy.copy(change)

    def aliases(self, name: str) -> dict[str, int]:
        with self._lock:
            return {a: v for (n, a), v in sorted(self._aliases.items()) if n == name}

    def alias_history(self, name: str, alias: str) -> list[AliasChange]:
        with self._lock:
            return [copy.copy(c) for c in self._alias_log if c.model == name and c.alias == alias]

    def append_audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> AuditEntry:
        with self._lock:
            prev = self._audit[-1].hash if self._audit else GENESIS
            entry = chained_entry(prev, len(self._audit) + 1, actor, action, subject, copy.deepcopy(details),
                                  key=self.sealing.key)
            self._audit.append(entry)
            self.sealing.seal(entry)
            return copy.deepcopy(entry)

    def audit_log(self) -> list[AuditEntry]:
        with self._lock:
            return copy.deepcopy(self._audit)

    def notes(self, name: str | None = None) -> list[ModelNote]:
        with self._lock:
            return copy.deepcopy([m for (n, _), m in sorted(self._notes.items()) if name is None or n == name])

    def _write_note(self, name: str, version: int, change: NoteChange, audit: AuditNote | None) -> ModelNote:
        with self._lock:
            note = change.apply(self._notes.get((name, version)) or ModelNote(name, version))
            self._notes[(name, version)] = note
            if audit is not None:
                self.append_audit(audit.actor, audit.action, note_subject(name, version), audit.details)
            return copy.deepcopy(note)
