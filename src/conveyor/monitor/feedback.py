"""Ground truth in bulk: a table of labels joined to the prediction log by prediction id.

Delayed labels arrive as tables (a nightly export of which loans defaulted), not one ``POST /feedback`` at a time.
:func:`ingest_labels` takes such a table in chunks and writes each chunk as one ``add_feedback`` call, so a million
labels cost a handful of transactions. Labels stay write-once: an id that already has a label is not changed unless
``relabel`` (an authorised correction). The answer counts what happened to every row of the file:

* ``labelled``: the prediction got this label;
* ``not_updated``: no prediction has this id, or it already had a label (the store does not say which, so the
  answer cannot be used to learn which ids exist);
* ``duplicates``: the id came earlier in the file (the first row wins); ``conflicting`` counts those of them
  whose label differs from the first one's, which is worth a look at the source;
* ``missing_label``: the row had no label (empty, NaN), or no id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from conveyor.core.errors import BadInputError
from conveyor.store.predictions import PredictionStore

__all__ = ["EXAMPLES", "LabelReport", "Writer", "clean_label", "ingest_labels", "labels_frame", "labels_of",
           "store_writer"]

EXAMPLES = 20
"""How many ids of each kind the report lists (the counts are always complete)."""


@dataclass
class LabelReport:
    """What happened to each row of a labels table; see the module docstring."""

    rows: int = 0
    labelled: int = 0
    not_updated: int = 0
    duplicates: int = 0
    conflicting: int = 0
    missing_label: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, pid: str) -> None:
        found = self.examples.setdefault(kind, [])
        if len(found) < EXAMPLES:
            found.append(pid)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_label(value: Any) -> Any:
    """A label as the prediction log stores it (a JSON scalar), or None where the row has none."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool | int | float):
        return value
    raise BadInputError(f"A label must be a number, text or true/false; got {type(value).__name__} {value!r}.",
                        field="label", hint="Give the label column plain values.")


def labels_frame(labels: Mapping[str, Any]) -> pd.DataFrame:
    """``{prediction id: label}`` as a labels table (columns ``id`` and ``label``)."""
    if not isinstance(labels, Mapping):
        raise BadInputError("Labels must be a mapping of prediction id to label.", field="labels")
    if not labels:
        raise BadInputError("No labels given.", field="labels", hint="Give at least one prediction id.")
    return pd.DataFrame({"id": list(labels), "label": pd.Series(list(labels.values()), dtype=object)})


def _check_columns(frame: pd.DataFrame, id_column: str, label_column: str) -> None:
    for option, column in (("--id-column", id_column), ("--label-column", label_column)):
        if column not in frame.columns:
            raise BadInputError(f"The labels file has no column {column!r}.", field=option.lstrip("-"),
                                hint=f"Name one of its columns with {option}: {', '.join(map(str, frame.columns))}.")
    if id_column == label_column:
        raise BadInputError("--id-column and --label-column name the same column.", field="label-column",
                            hint="The labels file needs one column of prediction ids and another of labels.")


def labels_of(frame: pd.DataFrame, id_column: str, label_column: str, seen: dict[str, Any],
              report: LabelReport) -> dict[str, Any]:
    """The new ``{prediction id: label}`` of one chunk; ``seen`` (the ids of earlier chunks with their labels)
    and ``report`` are updated in place."""
    _check_columns(frame, id_column, label_column)
    labels: dict[str, Any] = {}
    for raw_id, raw_label in zip(frame[id_column].tolist(), frame[label_column].tolist(), strict=True):
        report.rows += 1
        pid = "" if raw_id is None or (isinstance(raw_id, float) and math.isnan(raw_id)) else str(raw_id).strip()
        label = clean_label(raw_label)
        if not pid or label is None:
            report.missing_label += 1
            continue
        if pid in seen:
            report.duplicates += 1
            report.note("duplicates", pid)
            if seen[pid] != label:
                report.conflicting += 1
                report.note("conflicting", pid)
            continue
        seen[pid] = label
        labels[pid] = label
    return labels


Writer = Callable[[dict[str, Any]], tuple[int, int, list[str]]]
"""Writes one chunk's ``{id: label}``: (labelled, not updated, ids of those not updated, all or some)."""


def store_writer(predictions: PredictionStore, *, relabel: bool = False,
                 before_write: Callable[[], None] | None = None) -> Writer:
    """A :data:`Writer` into a prediction store, one ``add_feedback`` call per chunk; ``before_write`` runs first
    (a serving process flushes its queued predictions there)."""

    def write(labels: dict[str, Any]) -> tuple[int, int, list[str]]:
        if before_write is not None:
            before_write()
        missing = predictions.add_feedback(labels, relabel=relabel)
        return len(labels) - len(missing), len(missing), missing

    return write


def ingest_labels(write: Writer, chunks: Iterable[pd.DataFrame], id_column: str, label_column: str, *,
                  on_rows: Callable[[int], None] | None = None) -> LabelReport:
    """Attach the labels of ``chunks`` (DataFrames with ``id_column`` and ``label_column``) through ``write``, one
    call per chunk; ``on_rows(rows_done)`` drives a progress bar."""
    report, seen = LabelReport(), dict[str, Any]()
    for chunk in chunks:
        labels = labels_of(chunk, id_column, label_column, seen, report)
        if labels:
            labelled, not_updated, examples = write(labels)
            report.labelled += labelled
            report.not_updated += not_updated
            for pid in examples:
                report.note("not_updated", pid)
        if on_rows is not None:
            on_rows(report.rows)
    if report.rows == 0:
        raise BadInputError("The labels file has no rows.", field="file",
                            hint="Give a CSV, Parquet or JSON lines file with a row per labelled prediction.")
    return report
