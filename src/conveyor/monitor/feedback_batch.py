"""Ground truth in bulk (`conveyor feedback ingest FILE`, ``POST /api/v1/feedback``): delayed labels arrive as a
table, not one ``POST /feedback`` at a time.

Labels are written once (an id already labelled keeps its label, as on the serving endpoint); the report counts
the rows matched (labelled now), unmatched (no such prediction, or already labelled: the store does not tell which,
so an answer never says which ids exist), duplicates (an id repeated in the input: the first row wins) and
conflicting ids (repeated with different labels: none of them is written).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conveyor.core.errors import BadInputError
from conveyor.store.stores import Stores

__all__ = ["FeedbackReport", "ingest_labels", "labels_from_frame"]

CHUNK = 1000
_SCALARS = (bool, int, float, str)


@dataclass
class FeedbackReport:
    rows: int = 0
    matched: int = 0
    unmatched: int = 0
    duplicates: int = 0
    conflicting: list[str] = field(default_factory=list)
    unmatched_sample: list[str] = field(default_factory=list)  # the first few, to look into

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "matched": self.matched, "unmatched": self.unmatched,
                "duplicates": self.duplicates, "conflicting": self.conflicting,
                "unmatched_sample": self.unmatched_sample}


def _label(value: Any, pid: str) -> Any:
    if hasattr(value, "item"):  # a numpy scalar from a DataFrame
        value = value.item()
    if value is None or not isinstance(value, _SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        raise BadInputError(f"The label for prediction {pid!r} must be a finite number, text or true/false; got "
                            f"{value!r}.", field="label", hint="Drop rows whose label is not known yet.")
    return value


def labels_from_frame(frame: Any, id_column: str, label_column: str) -> list[tuple[str, Any]]:
    """(prediction id, label) pairs from a table's two columns, in order."""
    for column in (id_column, label_column):
        if column not in frame.columns:
            raise BadInputError(f"The feedback table has no column {column!r}.", field=column,
                                hint=f"Columns: {', '.join(map(str, list(frame.columns)[:10]))}.")
    return [(str(pid), label) for pid, label in zip(frame[id_column].tolist(), frame[label_column].tolist(),
                                                    strict=True)]


def ingest_labels(stores: Stores, pairs: Iterable[tuple[str, Any]], *,
                  progress: Callable[[int, int], None] | None = None) -> FeedbackReport:
    """Attach labels by prediction id, write-once, in batches; see the module docstring for the report."""
    report = FeedbackReport()
    first: dict[str, Any] = {}
    conflicting: set[str] = set()
    for pid, value in pairs:
        report.rows += 1
        if not pid:
            raise BadInputError(f"Row {report.rows} has an empty prediction id.", field="id")
        label = _label(value, pid)
        if pid in first:
            report.duplicates += 1
            if first[pid] != label:
                conflicting.add(pid)
            continue
        first[pid] = label
    report.conflicting = sorted(conflicting)
    labels = [(pid, label) for pid, label in first.items() if pid not in conflicting]
    for start in range(0, len(labels), CHUNK):
        chunk = dict(labels[start:start + CHUNK])
        missing = stores.predictions.add_feedback(chunk)
        report.matched += len(chunk) - len(missing)
        report.unmatched += len(missing)
        report.unmatched_sample += missing[:max(0, 10 - len(report.unmatched_sample))]
        if progress is not None:
            progress(min(start + CHUNK, len(labels)), len(labels))
    return report
