"""The feature views role: the versions of each feature view that were applied, joined or materialised.

Interface (:class:`FeatureViewStore`; ``conveyor.testing.feature_view_store_contract`` checks every
implementation):

* ``add(version)`` appends a version of a view unless it is already that view's latest; it answers
  ``(stored, created)``. A view may return to an older version (it is appended again).
* ``versions(view=None)`` lists versions oldest first (of one view when given); ``latest(view)`` answers the newest
  or None.
* ``note_materialized(view, version, note)`` appends ``note`` to the newest record of that version and answers
  whether there was one.
* every method is safe to call from several threads and processes sharing the store.
"""

from __future__ import annotations

import abc
import copy
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from conveyor.core.entities import now

__all__ = ["FeatureViewStore", "FeatureViewVersion", "InMemoryFeatureViewStore"]


@dataclass
class FeatureViewVersion:
    """One version of a feature view: ``version`` digests the definition hash and the source version read."""

    view: str
    version: str
    definition_hash: str
    source: str  # NAME@VERSION of the dataset read
    definition: dict[str, Any]
    origin: str  # the file that declares it
    applied_at: float = field(default_factory=now)
    materialized: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.view}@{self.version[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ref": self.ref}


class FeatureViewStore(abc.ABC):
    """Feature view versions; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def add(self, version: FeatureViewVersion) -> tuple[FeatureViewVersion, bool]: ...

    @abc.abstractmethod
    def versions(self, view: str | None = None) -> list[FeatureViewVersion]:
        """Oldest first."""

    @abc.abstractmethod
    def note_materialized(self, view: str, version: str, note: dict[str, Any]) -> bool: ...

    def latest(self, view: str) -> FeatureViewVersion | None:
        found = self.versions(view)
        return found[-1] if found else None


class InMemoryFeatureViewStore(FeatureViewStore):
    """Versions in a list behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._versions: list[FeatureViewVersion] = []

    def add(self, version: FeatureViewVersion) -> tuple[FeatureViewVersion, bool]:
        with self._lock:
            same = [v for v in self._versions if v.view == version.view]
            if same and same[-1].version == version.version:
                return copy.deepcopy(same[-1]), False
            self._versions.append(copy.deepcopy(version))
            return copy.deepcopy(version), True

    def versions(self, view: str | None = None) -> list[FeatureViewVersion]:
        with self._lock:
            return [copy.deepcopy(v) for v in self._versions if view is None or v.view == view]

    def note_materialized(self, view: str, version: str, note: dict[str, Any]) -> bool:
        with self._lock:
            for record in reversed(self._versions):
                if record.view == view and record.version == version:
                    record.materialized.append(copy.deepcopy(note))
                    return True
            return False
