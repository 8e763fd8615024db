"""The monitoring role: reference statistics per model version, time series samples, and alerts.

Interface (:class:`MonitoringStore`; ``conveyor.testing.monitoring_store_contract`` checks every implementation):

* ``put_reference_stats(model, stats)`` stores the reference statistics of model version ``NAME:N`` once and returns
  what is stored (the first writer wins); ``get_reference_stats(model)`` answers None when there are none.
* ``add_samples(samples)`` appends points of time series; ``samples(subject=None, *, series=None, since=None,
  limit=None)`` lists them oldest first: a ``series`` ending in "*" matches a prefix (other characters, "_" and "%"
  included, are literal), ``since`` keeps points at or after it, ``limit`` keeps the newest ones.
* ``add_alert`` records a fired alert; ``update_alert`` writes every field of an existing one (by id;
  :class:`NotFoundError` when there is none); ``get_alert`` finds one by id or unique id prefix (an ambiguous prefix
  is a :class:`BadInputError`); ``alerts(subject=None, *, status=None, limit=None)`` lists them newest first.
* Every method is safe to call from several threads; records handed out are copies.
"""

from __future__ import annotations

import abc
import copy
import threading
from typing import Any

from conveyor.core.entities import Alert, Sample
from conveyor.core.errors import NotFoundError
from conveyor.store.lookup import pick_by_prefix

__all__ = ["InMemoryMonitoringStore", "MonitoringStore", "series_matches"]


def series_matches(pattern: str | None, series: str) -> bool:
    """Whether ``series`` is selected by ``pattern`` (None: every series; "name*": a prefix; else equality)."""
    if pattern is None:
        return True
    return series.startswith(pattern[:-1]) if pattern.endswith("*") else series == pattern


def _no_alert(alert_id: str) -> NotFoundError:
    return NotFoundError(f"No alert {alert_id!r}.", hint="See `conveyor alerts`.")


class MonitoringStore(abc.ABC):
    """Reference statistics, samples and alerts; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def put_reference_stats(self, model: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Store the reference statistics of model version ``NAME:N`` once; return what is stored (first wins)."""

    @abc.abstractmethod
    def get_reference_stats(self, model: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def samples(self, subject: str | None = None, *, series: str | None = None, since: float | None = None,
                limit: int | None = None) -> list[Sample]:
        """Oldest first; a ``series`` ending in "*" matches a prefix; ``limit`` keeps the newest ones."""

    @abc.abstractmethod
    def add_alert(self, alert: Alert) -> Alert: ...

    @abc.abstractmethod
    def alerts(self, subject: str | None = None, *, status: str | None = None,
               limit: int | None = None) -> list[Alert]:
        """Newest first."""

    # hooks
    @abc.abstractmethod
    def _append_samples(self, samples: list[Sample]) -> None:
        """Write a non-empty batch of samples."""

    @abc.abstractmethod
    def _replace_alert(self, alert: Alert) -> bool:
        """Write every field of the alert with ``alert.id``; False when there is none."""

    @abc.abstractmethod
    def _alerts_like(self, alert_id: str) -> list[Alert]:
        """Alerts whose id starts with ``alert_id`` (a superset is fine: the caller filters)."""

    # derived
    def add_samples(self, samples: list[Sample]) -> None:
        if samples:
            self._append_samples(samples)

    def update_alert(self, alert: Alert) -> None:
        """Write every field of an existing alert (by id); NotFoundError when there is none."""
        if not self._replace_alert(alert):
            raise _no_alert(alert.id)

    def get_alert(self, alert_id: str) -> Alert:
        """By id or a unique id prefix."""
        return pick_by_prefix(alert_id, self._alerts_like(alert_id), lambda a: a.id, field="alert",
                              not_found=lambda: _no_alert(alert_id),
                              ambiguous=f"Alert id prefix {alert_id!r} is ambiguous.")


class InMemoryMonitoringStore(MonitoringStore):
    """Statistics, samples and alerts in memory behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._stats: dict[str, dict[str, Any]] = {}
        self._samples: list[Sample] = []
        self._alerts: dict[str, Alert] = {}

    def put_reference_stats(self, model: str, stats: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._stats.setdefault(model, copy.deepcopy(stats)))

    def get_reference_stats(self, model: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._stats.get(model))

    def _append_samples(self, samples: list[Sample]) -> None:
        with self._lock:
            self._samples.extend(copy.copy(s) for s in samples)

    def samples(self, subject: str | None = None, *, series: str | None = None, since: float | None = None,
                limit: int | None = None) -> list[Sample]:
        with self._lock:
            found = [copy.copy(s) for s in self._samples
                     if (subject is None or s.subject == subject) and series_matches(series, s.series)
                     and (since is None or s.at >= since)]
        found.sort(key=lambda s: s.at)
        return found[-limit:] if limit else found

    def add_alert(self, alert: Alert) -> Alert:
        with self._lock:
            self._alerts[alert.id] = copy.deepcopy(alert)
            return copy.deepcopy(alert)

    def _replace_alert(self, alert: Alert) -> bool:
        with self._lock:
            if alert.id not in self._alerts:
                return False
            self._alerts[alert.id] = copy.deepcopy(alert)
            return True

    def _alerts_like(self, alert_id: str) -> list[Alert]:
        with self._lock:
            return copy.deepcopy([a for a in self._alerts.values() if a.id.startswith(alert_id)])

    def alerts(self, subject: str | None = None, *, status: str | None = None,
               limit: int | None = None) -> list[Alert]:
        with self._lock:
            found = [copy.deepcopy(a) for a in self._alerts.values()
                     if (subject is None or a.subject == subject) and (status is None or a.status == status)]
        found.sort(key=lambda a: a.fired_at, reverse=True)
        return found[:limit] if limit else found
