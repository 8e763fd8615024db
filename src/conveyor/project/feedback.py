"""``project.feedback``: ground truth for logged predictions, one label or a whole table of them
(`conveyor feedback ingest`); see :mod:`conveyor.monitor.feedback` for what the report counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from conveyor.data.readers import checked_reader
from conveyor.monitor.feedback import LabelReport, ingest_labels, labels_frame, store_writer
from conveyor.project._acting import acting_for
from conveyor.project._base import LocalAPI

CHUNK_ROWS = 50_000
"""Labels written per transaction."""


class FeedbackAPI(Protocol):
    """Labels for logged predictions, write-once unless an authorised relabel."""

    def ingest(self, source: str | Path | pd.DataFrame, *, id_column: str = "id", label_column: str = "label",
               relabel: bool = False, format: str | None = None,
               on_rows: Callable[[int], None] | None = None) -> LabelReport: ...

    def add(self, labels: Mapping[str, Any], *, relabel: bool = False) -> LabelReport: ...


def label_chunks(source: str | Path | pd.DataFrame, id_column: str, format: str | None = None,
                 rows: int = CHUNK_ROWS) -> Iterable[pd.DataFrame]:
    """A labels table in chunks of ``rows``; a file is read by its format's reader with the ids kept as text."""
    if isinstance(source, pd.DataFrame):
        return (source.iloc[i:i + rows] for i in range(0, max(len(source), 1), rows))
    return checked_reader(source, format).load_chunks(source, rows, text_columns=[id_column])


class LocalFeedback(LocalAPI):
    def ingest(self, source: str | Path | pd.DataFrame, *, id_column: str = "id", label_column: str = "label",
               relabel: bool = False, format: str | None = None,
               on_rows: Callable[[int], None] | None = None) -> LabelReport:
        """Attach the labels of a table (CSV, Parquet, JSON lines or a DataFrame) by prediction id."""
        actor = acting_for(self.stores, "feedback.relabel") if relabel else None
        report = ingest_labels(store_writer(self.stores.predictions, relabel=relabel),
                               label_chunks(source, id_column, format), id_column, label_column, on_rows=on_rows)
        if actor is not None:
            self.stores.registry.append_audit(actor, "feedback.relabel", "predictions",
                                              {"rows": report.rows, "labelled": report.labelled})
        return report

    def add(self, labels: Mapping[str, Any], *, relabel: bool = False) -> LabelReport:
        """Attach ``{prediction id: label}``."""
        return self.ingest(labels_frame(labels), relabel=relabel)
