"""The prediction log role: every served prediction, and the ground truth that arrives for it later.

The one role written at serving rates, and the one meant to move out first: :class:`~conveyor.store.stores.Stores`
can open it from its own URL (``Stores.open(..., predictions_url=...)``) while the other roles stay in the main
metadata store.

Interface (:class:`PredictionStore`; ``conveyor.testing.prediction_store_contract`` checks every implementation):

* ``log(records)`` appends prediction records (ids are unique; an empty list is a no-op).
* ``log_batches(batches)`` appends columnar :class:`PredictionBatch` es (one request or micro-batch each: ids, one
  model version, one time, the input matrix as rows of values, the predictions and class probabilities) in one
  write; reading them back gives exactly the records :meth:`PredictionBatch.records` describes. It is the serving
  path: no record object or input dict per row unless the backend needs one.
* ``add_feedback(labels)`` attaches ground truth by prediction id (any JSON value, stamped with the time it
  arrived) and returns the ids that were not found.
* ``recent(model_name=None, limit=None, *, model_version=None)`` lists records newest first: ``model_name`` keeps
  every version of a model, ``model_version`` (``NAME:N``) one; ``limit`` keeps the newest ones.
* Records round-trip every field (``role``, ``request_id``, nested JSON inputs, outputs and labels).
* Every method is safe to call from several threads; records handed out are copies.
"""

from __future__ import annotations

import abc
import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.entities import PredictionRecord, now

__all__ = ["InMemoryPredictionStore", "PredictionBatch", "PredictionStore"]


@dataclass
class PredictionBatch:
    """The predictions of one request (or micro-batch) by one model version, column by column.

    ``values[i]`` holds row ``i``'s inputs in ``names`` order, already JSON-ready (None for a missing value);
    ``classes`` names the columns of ``proba`` as text. Row ``i`` is logged as the record with id ``ids[i]``, inputs
    ``dict(zip(names, values[i]))`` and outputs ``{"prediction": predictions[i]}`` plus ``"proba": {class: p}`` for a
    classifier."""

    ids: list[str]
    model: str  # "NAME:N"
    at: float
    latency_ms: float
    names: list[str]
    values: list[list[Any]]
    predictions: list[Any]
    classes: list[str] = field(default_factory=list)
    proba: list[list[float]] | None = None
    role: str = "primary"
    request_id: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def outputs(self) -> list[dict[str, Any]]:
        if self.proba is None:
            return [{"prediction": p} for p in self.predictions]
        keys = self.classes
        return [{"prediction": p, "proba": dict(zip(keys, q, strict=True))}
                for p, q in zip(self.predictions, self.proba, strict=True)]

    def records(self) -> list[PredictionRecord]:
        names, model, at, latency, role, rid = self.names, self.model, self.at, self.latency_ms, self.role, \
            self.request_id
        return [PredictionRecord(pid, model, dict(zip(names, row, strict=True)), out, at, latency, None, None, role,
                                 rid)
                for pid, row, out in zip(self.ids, self.values, self.outputs(), strict=True)]


class PredictionStore(abc.ABC):
    """The prediction log; see the module docstring for the contract."""

    url: str

    def log(self, records: list[PredictionRecord]) -> None:
        if records:
            self._append(records)

    def log_batches(self, batches: Sequence[PredictionBatch]) -> None:
        """Append columnar batches in one write (see :class:`PredictionBatch`); backends override it to skip the
        per-row record objects."""
        records = [r for b in batches for r in b.records()]
        if records:
            self._append(records)

    @abc.abstractmethod
    def add_feedback(self, labels: Mapping[str, Any], *, relabel: bool = False) -> list[str]:
        """Attach ground truth by prediction id; return the ids that were not updated. A label is written once:
        an id already labelled is not updated (and is returned like an unknown one, so the answer does not say
        which ids exist) unless ``relabel`` (an authorised correction)."""

    @abc.abstractmethod
    def recent(self, model_name: str | None = None, limit: int | None = None, *,
               model_version: str | None = None) -> list[PredictionRecord]:
        """Newest first; ``model_name`` keeps every version of a model, ``model_version`` (``NAME:N``) one."""

    @abc.abstractmethod
    def _append(self, records: list[PredictionRecord]) -> None:
        """Write a non-empty batch of new records."""


class InMemoryPredictionStore(PredictionStore):
    """Prediction records in a dict behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._records: dict[str, PredictionRecord] = {}

    def _append(self, records: list[PredictionRecord]) -> None:
        with self._lock:
            for record in records:
                self._records[record.id] = copy.deepcopy(record)

    def add_feedback(self, labels: Mapping[str, Any], *, relabel: bool = False) -> list[str]:
        with self._lock:
            missing, stamp = [], now()
            for pid, label in labels.items():
                record = self._records.get(pid)
                if record is None or (record.labeled_at is not None and not relabel):
                    missing.append(pid)
                else:
                    record.label, record.labeled_at = copy.deepcopy(label), stamp
            return missing

    def recent(self, model_name: str | None = None, limit: int | None = None, *,
               model_version: str | None = None) -> list[PredictionRecord]:
        with self._lock:
            found = [p for p in self._records.values()
                     if (model_name is None or p.model.split(":")[0] == model_name)
                     and (model_version is None or p.model == model_version)]
            found.sort(key=lambda p: p.at, reverse=True)
            return copy.deepcopy(found[:limit] if limit else found)
