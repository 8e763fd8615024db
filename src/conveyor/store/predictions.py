"""The prediction log role: every served prediction, and the ground truth that arrives for it later.

The one role written at serving rates, and the one meant to move out first: :class:`~conveyor.store.stores.Stores`
can open it from its own URL (``Stores.open(..., predictions_url=...)``) while the other roles stay in the main
metadata store.

Interface (:class:`PredictionStore`; ``conveyor.testing.prediction_store_contract`` checks every implementation):

* ``log(records)`` appends prediction records (ids are unique; an empty list is a no-op).
* ``log_batches(batches, *, skip_existing=False)`` appends columnar :class:`PredictionBatch` es (one request or
  micro-batch each: ids, one model version, one time, the inputs as rows of values or a float matrix, the
  predictions and class probabilities) in one write; reading them back gives exactly the records
  :meth:`PredictionBatch.records` describes. It is the serving path: no record object or input dict per row unless
  the backend needs one. ``skip_existing`` leaves rows whose id is already stored as they are (``ON CONFLICT DO
  NOTHING``): draining a prediction-log segment twice after a crash inserts nothing twice.
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

    ``values[i]`` holds row ``i``'s inputs in ``names`` order, already JSON-ready (None for a missing value); or
    ``values`` is None and ``matrix`` (a float64 numpy matrix, NaN for a missing value) holds them, so the serving
    path hands its request matrix over without a Python value per cell (:meth:`rows` makes the lists). ``classes``
    names the columns of ``proba`` as text. Row ``i`` is logged as the record with id ``ids[i]``, inputs
    ``dict(zip(names, values[i]))`` and outputs ``{"prediction": predictions[i]}`` plus ``"proba": {class: p}`` for a
    classifier. ``proba`` may be a float64 numpy matrix (rows x classes) instead of rows of floats, and ``id_text``
    the ids concatenated (each 32 characters, as the serving path makes them in one block): the segment writer
    turns both into Arrow columns without a Python object per row."""

    ids: list[str]
    model: str  # "NAME:N"
    at: float
    latency_ms: float
    names: list[str]
    values: list[list[Any]] | None
    predictions: list[Any]
    classes: list[str] = field(default_factory=list)
    proba: list[list[float]] | Any = None  # rows of floats, or a float64 numpy matrix
    role: str = "primary"
    request_id: str | None = None
    matrix: Any = None  # numpy float64, rows x len(names), when ``values`` is None
    id_text: str | None = None  # "".join(ids) when every id is 32 characters

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[list[Any]]:
        """Row ``i``'s input values in ``names`` order (None for a missing value)."""
        if self.values is not None:
            return self.values
        import numpy as np  # only a batch that holds a matrix gets here, so numpy is loaded already

        values: list[list[Any]] = self.matrix.tolist()
        if np.isnan(self.matrix).any():  # NaN: a missing value
            values = [[None if v != v else v for v in row] for row in values]
        return values

    def proba_rows(self) -> list[list[float]] | None:
        """``proba`` as rows of floats (a matrix made into lists), or None for a regressor."""
        proba = self.proba
        return proba.tolist() if proba is not None and not isinstance(proba, list) else proba

    def outputs(self) -> list[dict[str, Any]]:
        proba = self.proba_rows()
        if proba is None:
            return [{"prediction": p} for p in self.predictions]
        keys = self.classes
        return [{"prediction": p, "proba": dict(zip(keys, q, strict=True))}
                for p, q in zip(self.predictions, proba, strict=True)]

    def records(self) -> list[PredictionRecord]:
        names, model, at, latency, role, rid = self.names, self.model, self.at, self.latency_ms, self.role, \
            self.request_id
        return [PredictionRecord(pid, model, dict(zip(names, row, strict=True)), out, at, latency, None, None, role,
                                 rid)
                for pid, row, out in zip(self.ids, self.rows(), self.outputs(), strict=True)]


class PredictionStore(abc.ABC):
    """The prediction log; see the module docstring for the contract."""

    url: str

    def log(self, records: list[PredictionRecord]) -> None:
        if records:
            self._append(records)

    def log_batches(self, batches: Sequence[PredictionBatch], *, skip_existing: bool = False) -> None:
        """Append columnar batches in one write (see :class:`PredictionBatch`); backends override it to skip the
        per-row record objects. ``skip_existing``: rows whose id is stored already are left out."""
        records = [r for b in batches for r in b.records()]
        if records:
            self._append(records, skip_existing=skip_existing)

    def drain(self, *, settle: float = 0.0) -> int:
        """Move rows logged elsewhere (a segmented log's pending segments) into the table; the rows moved. With
        ``settle`` > 0, also wait up to that many seconds for other drainers' moves in flight to commit (a backup
        must see them). A store that writes its table directly has nothing pending."""
        return 0

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
    def _append(self, records: list[PredictionRecord], *, skip_existing: bool = False) -> None:
        """Write a non-empty batch of new records (leaving out ids already stored when ``skip_existing``)."""


class InMemoryPredictionStore(PredictionStore):
    """Prediction records in a dict behind a lock."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._records: dict[str, PredictionRecord] = {}

    def _append(self, records: list[PredictionRecord], *, skip_existing: bool = False) -> None:
        with self._lock:
            for record in records:
                if not (skip_existing and record.id in self._records):
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
