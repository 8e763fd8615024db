"""The pipelines role: pipeline runs and the record of each step in them (status, cache key, outputs, timing).

Interface (:class:`PipelineStore`; ``conveyor.testing.pipeline_store_contract`` checks every implementation):

* ``add_run(run)`` stores a new :class:`PipelineRun`; ``update_run(run_id, **fields)`` changes ``status``,
  ``ended_at``, ``error``, ``outputs`` (others are refused); ``get_run(id_or_prefix)`` answers None for an unknown
  or ambiguous id; ``runs(pipeline=None, status=None, limit=None)`` lists runs newest first.
* ``put_step(record)`` inserts or replaces the :class:`StepRecord` of ``(run_id, step)``; ``steps(run_id)`` lists a
  run's steps in the order they were first put.
* ``find_cached(pipeline, step, cache_key)`` is the newest *succeeded* record of that step with that cache key, in any
  run of the pipeline (what lets an unchanged step be skipped), else None.
* Values are JSON; every method is safe from several threads and processes sharing the store.
"""

from __future__ import annotations

import abc
import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import now

__all__ = ["InMemoryPipelineStore", "PipelineRun", "PipelineStore", "StepRecord"]

RUN_FIELDS = ("status", "ended_at", "error", "outputs")


@dataclass
class PipelineRun:
    """One run of a pipeline. ``dag`` is the graph as run (``{"steps": [{"name", "inputs", "outputs", "after"}]}``),
    so a run can be shown without its file; ``trigger`` says what started it (``manual``, ``schedule``, ...)."""

    id: str
    pipeline: str
    status: str = "running"  # running | succeeded | failed
    trigger: str = "manual"
    params: dict[str, Any] = field(default_factory=dict)
    dag: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=now)
    ended_at: float | None = None
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepRecord:
    """One step of one run: ``cached`` when its outputs were taken from an earlier run with the same ``cache_key``;
    ``inputs`` maps each input to its content id, ``outputs`` each output to ``{"kind", "content", ...}``."""

    run_id: str
    step: str
    status: str = "pending"  # pending | running | succeeded | failed | skipped
    cache_key: str = ""
    cached: bool = False
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    pipeline: str = ""
    seq: int = 0

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


class PipelineStore(abc.ABC):
    """Pipeline runs and their steps; see the module docstring for the contract."""

    url: str

    @abc.abstractmethod
    def add_run(self, run: PipelineRun) -> None: ...

    def update_run(self, run_id: str, **fields: Any) -> None:
        unknown = sorted(set(fields) - set(RUN_FIELDS))
        if unknown:
            raise ValueError(f"Cannot update pipeline run field(s) {unknown}; only {RUN_FIELDS}.")
        self._update_run(run_id, fields)

    @abc.abstractmethod
    def _update_run(self, run_id: str, fields: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> PipelineRun | None:
        """By id or a unique prefix."""

    @abc.abstractmethod
    def runs(self, pipeline: str | None = None, status: str | None = None,
             limit: int | None = None) -> list[PipelineRun]:
        """Newest first."""

    @abc.abstractmethod
    def put_step(self, record: StepRecord) -> None: ...

    @abc.abstractmethod
    def steps(self, run_id: str) -> list[StepRecord]: ...

    @abc.abstractmethod
    def find_cached(self, pipeline: str, step: str, cache_key: str) -> StepRecord | None: ...


class InMemoryPipelineStore(PipelineStore):
    """Runs and steps in dicts behind a lock (one process)."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._runs: dict[str, PipelineRun] = {}
        self._steps: dict[tuple[str, str], StepRecord] = {}
        self._seq = 0

    def add_run(self, run: PipelineRun) -> None:
        with self._lock:
            if run.id in self._runs:
                raise ValueError(f"Pipeline run {run.id} exists already.")
            self._runs[run.id] = copy.deepcopy(run)

    def _update_run(self, run_id: str, fields: dict[str, Any]) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                for key, value in fields.items():
                    setattr(run, key, copy.deepcopy(value))

    def get_run(self, run_id: str) -> PipelineRun | None:
        with self._lock:
            found = [r for key, r in self._runs.items() if key.startswith(run_id)] if run_id else []
            exact = self._runs.get(run_id)
            run = exact or (found[0] if len(found) == 1 else None)
            return copy.deepcopy(run)

    def runs(self, pipeline: str | None = None, status: str | None = None,
             limit: int | None = None) -> list[PipelineRun]:
        with self._lock:
            found = [copy.deepcopy(r) for r in self._runs.values()
                     if (pipeline is None or r.pipeline == pipeline) and (status is None or r.status == status)]
        found.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return found[:limit] if limit is not None else found

    def put_step(self, record: StepRecord) -> None:
        with self._lock:
            key = (record.run_id, record.step)
            old = self._steps.get(key)
            stored = copy.deepcopy(record)
            if old is not None:
                stored.seq = old.seq
            else:
                self._seq += 1
                stored.seq = self._seq
            run = self._runs.get(record.run_id)
            stored.pipeline = run.pipeline if run is not None else record.pipeline
            self._steps[key] = stored

    def steps(self, run_id: str) -> list[StepRecord]:
        with self._lock:
            found = [copy.deepcopy(s) for (rid, _), s in self._steps.items() if rid == run_id]
        return sorted(found, key=lambda s: s.seq)

    def find_cached(self, pipeline: str, step: str, cache_key: str) -> StepRecord | None:
        with self._lock:
            found = [s for s in self._steps.values() if s.pipeline == pipeline and s.step == step
                     and s.cache_key == cache_key and s.status == "succeeded"]
            found.sort(key=lambda s: (s.ended_at or 0.0, s.seq))
            return copy.deepcopy(found[-1]) if found else None
