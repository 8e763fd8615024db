"""The datasets role: immutable, content-addressed dataset versions by name.

Interface (:class:`DatasetStore`; ``conveyor.testing.dataset_store_contract`` checks every implementation):

* ``add_version(dv)`` records a version; the same (name, version) is recorded once, the first record wins, and the
  answer says whether it was new: ``(stored, new)``.
* ``versions(name=None)`` lists versions oldest first (by ``created_at``); ``names()`` the dataset names, sorted.
* ``get_version(name, version="latest")`` finds one by a unique prefix of its id, or the newest for ``"latest"``
  (or ``""``). An unknown name is a :class:`NotFoundError` with "did you mean"; an unknown version names the
  versions there are; an ambiguous prefix is a :class:`BadInputError`.
* Every method is safe to call from several threads; records handed out are copies.

A backend implements two methods (``add_version``, ``versions``); ``_candidates`` and ``names`` have answers derived
from ``versions`` that a backend may replace with an indexed query.
"""

from __future__ import annotations

import abc
import copy
import threading

from conveyor.core.entities import DatasetVersion
from conveyor.core.errors import NotFoundError
from conveyor.store.lookup import pick_by_prefix

__all__ = ["LATEST", "DatasetStore", "InMemoryDatasetStore"]

LATEST = ("", "latest")


class DatasetStore(abc.ABC):
    """Dataset versions by name; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def add_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        """Record ``dv``; return (the stored version, whether it was new). A known (name, version) is not changed."""

    @abc.abstractmethod
    def versions(self, name: str | None = None) -> list[DatasetVersion]:
        """Every version of ``name`` (of every dataset when None), oldest first."""

    def _candidates(self, name: str, version: str) -> list[DatasetVersion]:
        """For ``version`` in LATEST, a list holding the newest version of ``name`` (empty if none); otherwise
        versions of ``name`` whose id starts with ``version`` (two are enough to tell that a prefix is ambiguous)."""
        versions = self.versions(name)
        if version in LATEST:
            return versions[-1:]
        return [v for v in versions if v.version.startswith(version)]

    def names(self) -> list[str]:
        """Every dataset name, sorted."""
        return sorted({v.name for v in self.versions()})

    def get_version(self, name: str, version: str = "latest") -> DatasetVersion:
        """Version ``version`` (a unique id prefix, or "latest") of dataset ``name``."""
        found = self._candidates(name, version)
        if version in LATEST:
            if found and found[0].meta.get("tombstone"):  # erased: the newest version that was not
                alive = [v for v in self.versions(name) if not v.meta.get("tombstone")]
                found = alive[-1:] or found
            if found:
                return found[0]
            raise NotFoundError.for_name("dataset", name, self.names())
        return pick_by_prefix(version, found, lambda v: v.version, not_found=lambda: self._no_version(name, version),
                              ambiguous=f"Version prefix {version!r} of dataset {name!r} is ambiguous.")

    def _no_version(self, name: str, version: str) -> NotFoundError:
        versions = self.versions(name)
        if not versions:
            return NotFoundError.for_name("dataset", name, self.names())
        return NotFoundError(f"Dataset {name!r} has no version {version!r}.",
                             hint=f"Versions: {', '.join(v.version[:12] for v in versions[-5:])} (or 'latest').")


class InMemoryDatasetStore(DatasetStore):
    """Dataset versions in a dict behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str], DatasetVersion] = {}

    def add_version(self, dv: DatasetVersion) -> tuple[DatasetVersion, bool]:
        with self._lock:
            key = (dv.name, dv.version)
            if key in self._versions:
                return copy.deepcopy(self._versions[key]), False
            self._versions[key] = copy.deepcopy(dv)
            return copy.deepcopy(dv), True

    def versions(self, name: str | None = None) -> list[DatasetVersion]:
        with self._lock:
            found = [v for (n, _), v in self._versions.items() if name is None or n == name]
            return copy.deepcopy(sorted(found, key=lambda v: v.created_at))
