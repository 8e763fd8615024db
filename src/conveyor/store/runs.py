"""The runs role (tracking): runs with their params, tags, metrics and artifacts.

Interface (:class:`RunStore`; ``conveyor.testing.run_store_contract`` checks every implementation):

* ``create(run)`` records a run with its params and tags (values stringified); metrics and artifacts are logged
  with their own methods. Runs are never deleted.
* Every method that takes a run id also takes a unique prefix of it (4 characters or more): ``resolve_id`` turns
  one into the full id. An unknown id is a :class:`NotFoundError` naming it; an ambiguous prefix a
  :class:`BadInputError`.
* ``log_params`` and ``set_tags`` stringify values; a later value for a key replaces the earlier one.
  ``add_artifact`` points a name at its newest digest.
* ``log_metrics`` keeps every value in ``metric_history`` (in logging order); a run's ``metrics`` hold, per key,
  the value of the highest step (among equal steps, the last logged). ``metric_history(run, key, offset=, limit=)``
  reads a slice of that order; ``metric_series(run, key, points)`` at most ``points`` values of it for a chart: the
  first and the last logged, and in each of ``(points - 2) // 2`` runs of consecutive values its lowest (the first
  of equals) and its highest (the last of equals), so the extremes survive; the whole history when it is no longer
  than ``points``.
* ``search`` lists runs newest first, or by a metric's latest value (runs without it last, newest first), filtered
  by dataset name (``dataset`` is ``NAME`` or ``NAME@VERSION``).
* ``experiment`` (a run attribute, the id of an :class:`Experiment`) groups runs logged by MLflow clients:
  ``create_experiment`` (a taken name is a :class:`ConflictError`), ``get_experiment`` (unknown: NotFoundError),
  ``experiment_by_name`` (None when unknown), ``experiments()`` (by id), ``set_experiment_tags``,
  ``update_experiment`` (a new name, taken: ConflictError; a lifecycle, ``active`` or ``deleted``; tag keys to
  remove); ``search`` filters by ``experiment`` (an id) when given.
* Every method is safe to call from several threads; records handed out are copies.

The public methods live here, once: they resolve ids, stringify values and skip empty writes, then call the
backend's hooks (``_insert``, ``_set_status``, ``_merge``, ``_write_metrics``, ``_load``, ``_history``,
``_ids_like``) with full ids.
"""

from __future__ import annotations

import abc
import copy
import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from conveyor.core.entities import Experiment, Metric, Run, now
from conveyor.core.errors import BadInputError, ConflictError, NotFoundError
from conveyor.store.lookup import pick_by_prefix

__all__ = ["MIN_PREFIX", "InMemoryRunStore", "RunField", "RunStore"]

MIN_PREFIX = 4
RunField = Literal["params", "tags", "artifacts"]


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}


class RunStore(abc.ABC):
    """Tracked runs; see the module docstring for the contract."""

    url: str

    # the public interface, derived once
    def create(self, run: Run) -> Run:
        """Record ``run`` (its params and tags stringified); return the stored run."""
        stored = replace(run, params=_strings(run.params), tags=_strings(run.tags), metrics={}, artifacts={})
        self._insert(stored)
        return copy.deepcopy(stored)

    def end(self, run_id: str, status: str, ended_at: float | None = None) -> None:
        """Set the run's final ``status`` ("finished", "failed") and end time (now by default)."""
        self._set_status(self.resolve_id(run_id), status, ended_at or now())

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        rid = self.resolve_id(run_id)
        if params:
            self._merge(rid, "params", _strings(params))

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        rid = self.resolve_id(run_id)
        if tags:
            self._merge(rid, "tags", _strings(tags))

    def add_artifact(self, run_id: str, name: str, digest: str) -> None:
        self._merge(self.resolve_id(run_id), "artifacts", {name: digest})

    def log_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        if metrics:
            self._write_metrics(self.resolve_id(run_id), metrics)

    def get(self, run_id: str) -> Run:
        """A run by id or unique id prefix."""
        return self._load(self.resolve_id(run_id))

    def params_of(self, run_id: str) -> dict[str, str]:
        """The run's params alone (a backend may read them without the rest of the run)."""
        return self.get(run_id).params

    def metric_history(self, run_id: str, key: str, *, offset: int = 0, limit: int | None = None) -> list[Metric]:
        """Every value logged for ``key``, in logging order (``limit`` of them from ``offset``, when given)."""
        if offset < 0 or (limit is not None and limit < 0):
            raise BadInputError("offset and limit are not negative.", field="limit" if offset >= 0 else "offset")
        return self._history(self.resolve_id(run_id), key, offset, limit)

    def metric_series(self, run_id: str, key: str, points: int = 1000) -> list[Metric]:
        """At most ``points`` values of ``key``'s history for a chart, in logging order: the first and last logged
        and, per run of consecutive values, its lowest and highest (see the module docstring)."""
        if points < 4:
            raise BadInputError(f"A series needs room for 4 points or more, not {points}.", field="points")
        return self._series(self.resolve_id(run_id), key, points)

    def _series(self, run_id: str, key: str, points: int) -> list[Metric]:
        """The backend's hook: this default reads the whole history (a SQL backend lets its query do the work)."""
        return downsample(self._history(run_id, key, 0, None), points)

    def resolve_id(self, run_id: str) -> str:
        """The full id of the run ``run_id`` names (itself, or the one run whose id starts with it)."""
        return pick_by_prefix(run_id, self._ids_like(run_id), str, min_prefix=MIN_PREFIX,
                              ambiguous=f"Run id prefix {run_id!r} is ambiguous.",
                              not_found=lambda: NotFoundError(f"Unknown run {run_id!r}.",
                                                              hint="List runs with `conveyor runs list`."))

    def create_experiment(self, name: str, *, artifact_location: str = "", tags: Mapping[str, Any] | None = None,
                          experiment_id: str | None = None) -> Experiment:
        """A new experiment (the next id unless ``experiment_id`` is given); a taken name is a ConflictError."""
        if self.experiment_by_name(name) is not None:
            raise ConflictError(f"Experiment {name!r} already exists.", field="name",
                                hint="Pick another name, or use the existing experiment.")
        return self._insert_experiment(name, artifact_location, _strings(tags or {}), experiment_id)

    def find_experiment(self, name_or_id: str) -> Experiment:
        """The experiment named ``name_or_id``, else the one with that id; NotFoundError naming it otherwise."""
        return self.experiment_by_name(name_or_id) or self.get_experiment(name_or_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        found = self._load_experiment(str(experiment_id))
        if found is None:
            raise NotFoundError(f"Unknown experiment {experiment_id!r}.", field="experiment_id",
                                hint="Give the name or id of an experiment that MLflow clients created.")
        return found

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None:
        self._merge_experiment_tags(self.get_experiment(experiment_id).id, _strings(tags))

    def update_experiment(self, experiment_id: str, *, name: str | None = None, lifecycle: str | None = None,
                          untag: tuple[str, ...] = ()) -> Experiment:
        """Rename, delete/restore (``lifecycle``) or untag an experiment; None leaves a field as it is."""
        found = self.get_experiment(experiment_id)
        if lifecycle not in (None, "active", "deleted"):
            raise BadInputError(f"Unknown experiment lifecycle {lifecycle!r}.", field="lifecycle",
                                hint="Use active or deleted.")
        if name is not None and name != found.name and self.experiment_by_name(name) is not None:
            raise ConflictError(f"Experiment {name!r} already exists.", field="name", hint="Pick another name.")
        self._update_experiment(found.id, name, lifecycle, tuple(untag))
        return self.get_experiment(found.id)

    @abc.abstractmethod
    def experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def experiments(self) -> list[Experiment]:
        """Every experiment, by id."""

    @abc.abstractmethod
    def search(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset_name: str | None = None,
               limit: int | None = None, offset: int = 0, experiment: str | None = None) -> list[Run]:
        """Newest first, or by a metric's latest value (runs without it last); ``offset`` skips the first ones and
        ``limit`` keeps the next ones (a page reads only its own rows); ``experiment`` keeps one experiment's."""

    @abc.abstractmethod
    def _insert_experiment(self, name: str, artifact_location: str, tags: dict[str, str],
                           experiment_id: str | None) -> Experiment: ...

    @abc.abstractmethod
    def _load_experiment(self, experiment_id: str) -> Experiment | None: ...

    @abc.abstractmethod
    def _merge_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None: ...

    @abc.abstractmethod
    def _update_experiment(self, experiment_id: str, name: str | None, lifecycle: str | None,
                           untag: tuple[str, ...]) -> None:
        """The experiment exists; a taken ``name`` is a ConflictError."""

    # the backend's hooks (full ids only)
    @abc.abstractmethod
    def _insert(self, run: Run) -> None:
        """Record a new run with its (already stringified) params and tags."""

    @abc.abstractmethod
    def _set_status(self, run_id: str, status: str, ended_at: float) -> None: ...

    @abc.abstractmethod
    def _merge(self, run_id: str, field: RunField, values: dict[str, str]) -> None:
        """Set ``values`` in the run's params, tags or artifacts (name -> digest), replacing earlier values."""

    @abc.abstractmethod
    def _write_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        """Append ``metrics`` to the history and update the latest value per key (highest step; ties: last)."""

    @abc.abstractmethod
    def _load(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def _history(self, run_id: str, key: str, offset: int, limit: int | None) -> list[Metric]: ...

    @abc.abstractmethod
    def _ids_like(self, run_id: str) -> list[str]:
        """``run_id`` if a run has exactly that id; else (for MIN_PREFIX characters or more) up to two ids that start
        with it. Extra ids are filtered by the caller."""


def downsample(history: list[Metric], points: int) -> list[Metric]:
    """:meth:`RunStore.metric_series` over a history in memory: the same values a SQL backend's query picks."""
    n = len(history)
    if n <= points:
        return history
    buckets = (points - 2) // 2
    keep = {0, n - 1}
    start = 0
    for bucket in range(buckets):
        end = start
        while end < n and end * buckets // n == bucket:  # the rows i with i * buckets // n == bucket, as in SQL
            end += 1
        if end > start:
            indices = range(start, end)
            keep.add(min(indices, key=lambda i: (history[i].value, i)))
            keep.add(max(indices, key=lambda i: (history[i].value, i)))  # among equal highs, the last
        start = end
    return [history[i] for i in sorted(keep)]


class InMemoryRunStore(RunStore):
    """Runs in dicts behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}
        self._history_of: dict[tuple[str, str], list[Metric]] = defaultdict(list)
        self._latest_step: dict[tuple[str, str], int] = {}
        self._experiments: dict[str, Experiment] = {}

    def _insert_experiment(self, name: str, artifact_location: str, tags: dict[str, str],
                           experiment_id: str | None) -> Experiment:
        with self._lock:
            if experiment_id is None:
                experiment_id = str(max((int(i) for i in self._experiments), default=0) + 1)
            if experiment_id in self._experiments:
                raise ConflictError(f"Experiment id {experiment_id!r} is taken.", field="experiment_id")
            self._experiments[experiment_id] = Experiment(experiment_id, name, artifact_location, tags=tags)
            return copy.deepcopy(self._experiments[experiment_id])

    def _load_experiment(self, experiment_id: str) -> Experiment | None:
        with self._lock:
            return copy.deepcopy(self._experiments.get(experiment_id))

    def _merge_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None:
        with self._lock:
            self._experiments[experiment_id].tags.update(tags)

    def _update_experiment(self, experiment_id: str, name: str | None, lifecycle: str | None,
                           untag: tuple[str, ...]) -> None:
        with self._lock:
            found = self._experiments[experiment_id]
            if name is not None and any(e.name == name and e.id != experiment_id for e in self._experiments.values()):
                raise ConflictError(f"Experiment {name!r} already exists.", field="name")
            found.name = found.name if name is None else name
            found.lifecycle = found.lifecycle if lifecycle is None else lifecycle
            for key in untag:
                found.tags.pop(key, None)

    def experiment_by_name(self, name: str) -> Experiment | None:
        with self._lock:
            return next((copy.deepcopy(e) for e in self._experiments.values() if e.name == name), None)

    def experiments(self) -> list[Experiment]:
        with self._lock:
            return copy.deepcopy(sorted(self._experiments.values(), key=lambda e: int(e.id)))

    def _insert(self, run: Run) -> None:
        with self._lock:
            self._runs[run.id] = copy.deepcopy(run)

    def _set_status(self, run_id: str, status: str, ended_at: float) -> None:
        with self._lock:
            run = self._runs[run_id]
            run.status, run.ended_at = status, ended_at

    def _merge(self, run_id: str, field: RunField, values: dict[str, str]) -> None:
        with self._lock:
            getattr(self._runs[run_id], field).update(values)

    def _write_metrics(self, run_id: str, metrics: list[Metric]) -> None:
        with self._lock:
            run = self._runs[run_id]
            for m in metrics:
                key = (run_id, m.key)
                self._history_of[key].append(copy.copy(m))
                if m.step >= self._latest_step.get(key, m.step):
                    self._latest_step[key] = m.step
                    run.metrics[m.key] = float(m.value)

    def _load(self, run_id: str) -> Run:
        with self._lock:
            return copy.deepcopy(self._runs[run_id])

    def _history(self, run_id: str, key: str, offset: int, limit: int | None) -> list[Metric]:
        with self._lock:
            found = self._history_of.get((run_id, key), [])
            return copy.deepcopy(found[offset:None if limit is None else offset + limit])

    def _ids_like(self, run_id: str) -> list[str]:
        with self._lock:
            if run_id in self._runs:
                return [run_id]
            if len(run_id) < MIN_PREFIX:
                return []
            return [r for r in self._runs if r.startswith(run_id)][:2]

    def search(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset_name: str | None = None,
               limit: int | None = None, offset: int = 0, experiment: str | None = None) -> list[Run]:
        with self._lock:
            runs = [r for r in self._runs.values()
                    if (dataset_name is None or (r.dataset or "").split("@")[0] == dataset_name)
                    and (experiment is None or r.experiment == experiment)]
            runs.sort(key=lambda r: r.started_at, reverse=True)
            if order_by_metric:
                have = [r for r in runs if order_by_metric in r.metrics]
                have.sort(key=lambda r: r.metrics[order_by_metric], reverse=not ascending)
                runs = have + [r for r in runs if order_by_metric not in r.metrics]
            return copy.deepcopy(runs[offset:offset + limit] if limit else runs[offset:])
