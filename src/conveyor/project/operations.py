"""``project.operations``: day-2 operations on the project's stores — garbage collection under ``retention:``,
erasure of personal data, backups.

`conveyor gc`, `conveyor data forget` and `conveyor backup` call these; docs/operations.md walks through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from conveyor.data.erasure import ErasureReport, Predicate, forget
from conveyor.project._base import LocalAPI
from conveyor.registry.models import current_actor
from conveyor.store.backends import open_artifact_store
from conveyor.store.retention import GcReport, RetentionPolicy, collect


class OperationsAPI(Protocol):
    """Garbage collection, erasure and backups."""

    def gc(self, *, dry_run: bool = False) -> GcReport: ...

    def forget(self, name: str, *, where: str | None = None, values: Sequence[str] = (),
               columns: Sequence[str] = ()) -> ErasureReport: ...


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
        predicate = Predicate(where, tuple(columns or self.config.data.sensitive), tuple(str(v) for v in values))
        return forget(self.stores, name, predicate, actor=current_actor())
