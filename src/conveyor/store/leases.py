"""The job leases role: units of work keyed by what triggered them, so each runs at most once across processes.

Interface (:class:`LeaseStore`; ``conveyor.testing.lease_store_contract`` checks every implementation):

* ``claim(key, holder, *, lease_seconds, at=None)`` atomically takes job ``key`` for ``holder``: a new key is
  created "running" (attempts 1); a "running" job whose heartbeat is older than ``lease_seconds`` is taken over
  (attempts + 1, result kept); anything else answers None. Of concurrent claimants exactly one wins.
* ``update(key, *, status=None, result=None, holder=None, at=None)`` sets status and result and refreshes the
  heartbeat; with ``holder``, only while that holder owns the job. It answers whether a job was updated.
* ``get(key)`` answers None for an unknown key; ``jobs(status=None)`` lists jobs oldest first.
* ``at`` defaults to now; every method is safe to call from several threads and processes sharing the store.
"""

from __future__ import annotations

import abc
import copy
import threading
from typing import Any

from conveyor.core.entities import AgentJob, now

__all__ = ["InMemoryLeaseStore", "LeaseStore"]


class LeaseStore(abc.ABC):
    """Leased jobs; see the module docstring for the contract."""

    url: str

    def claim(self, key: str, holder: str, *, lease_seconds: float, at: float | None = None) -> AgentJob | None:
        """Take job ``key`` for ``holder`` if it is new or its holder's lease ran out; else None."""
        return self._claim(key, holder, lease_seconds, now() if at is None else at)

    def update(self, key: str, *, status: str | None = None, result: dict[str, Any] | None = None,
               holder: str | None = None, at: float | None = None) -> bool:
        """Set status/result and refresh the heartbeat; with ``holder``, only while that holder owns it."""
        return self._update(key, status, result, holder, now() if at is None else at)

    @abc.abstractmethod
    def get(self, key: str) -> AgentJob | None: ...

    @abc.abstractmethod
    def jobs(self, status: str | None = None) -> list[AgentJob]:
        """Oldest first."""

    @abc.abstractmethod
    def _claim(self, key: str, holder: str, lease_seconds: float, at: float) -> AgentJob | None: ...

    @abc.abstractmethod
    def _update(self, key: str, status: str | None, result: dict[str, Any] | None, holder: str | None,
                at: float) -> bool: ...


class InMemoryLeaseStore(LeaseStore):
    """Jobs in a dict behind a lock (one process only: the SQL stores share leases across processes)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._jobs: dict[str, AgentJob] = {}

    def _claim(self, key: str, holder: str, lease_seconds: float, at: float) -> AgentJob | None:
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                job = self._jobs[key] = AgentJob(key, "running", holder, at, created_at=at)
            elif job.status == "running" and job.heartbeat_at < at - lease_seconds:
                job.holder, job.heartbeat_at, job.attempts = holder, at, job.attempts + 1
            else:
                return None
            return copy.deepcopy(job)

    def _update(self, key: str, status: str | None, result: dict[str, Any] | None, holder: str | None,
                at: float) -> bool:
        with self._lock:
            job = self._jobs.get(key)
            if job is None or (holder is not None and job.holder != holder):
                return False
            job.heartbeat_at = at
            if status is not None:
                job.status = status
            if result is not None:
                job.result = copy.deepcopy(result)
            return True

    def get(self, key: str) -> AgentJob | None:
        with self._lock:
            return copy.deepcopy(self._jobs.get(key))

    def jobs(self, status: str | None = None) -> list[AgentJob]:
        with self._lock:
            found = [copy.deepcopy(j) for j in self._jobs.values() if status is None or j.status == status]
        return sorted(found, key=lambda j: j.created_at)
