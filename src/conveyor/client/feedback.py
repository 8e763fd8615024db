"""``project.feedback`` against a server: the client reads the labels table itself and sends it in chunks to
``POST /api/v1/feedback`` (the server never reads a user's file)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.client._base import RemoteAPI
from conveyor.core.errors import BadInputError
from conveyor.monitor.feedback import LabelReport, labels_frame, labels_of

REQUEST_LABELS = 5_000
"""Labels per request: well inside the server's JSON body limit."""


class RemoteFeedback(RemoteAPI):
    """:class:`~conveyor.project.feedback.FeedbackAPI` over a server."""

    def ingest(self, source: str | Path | pd.DataFrame, *, id_column: str = "id", label_column: str = "label",
               relabel: bool = False, format: str | None = None,
               on_rows: Callable[[int], None] | None = None) -> LabelReport:
        from conveyor.project.feedback import label_chunks  # reading files is the client's job

        report, seen = LabelReport(), dict[str, Any]()
        for chunk in label_chunks(source, id_column, format, rows=REQUEST_LABELS):
            labels = labels_of(chunk, id_column, label_column, seen, report)
            if labels:
                answer = self.connection.post("/feedback", {"labels": labels, "relabel": relabel})
                report.labelled += answer["labelled"]
                report.not_updated += answer["not_updated"]
                for pid in answer["examples"].get("not_updated", []):
                    report.note("not_updated", pid)
            if on_rows is not None:
                on_rows(report.rows)
        if report.rows == 0:
            raise BadInputError("The labels file has no rows.", field="file",
                                hint="Give a CSV, Parquet or JSON lines file with a row per labelled prediction.")
        return report

    def add(self, labels: Mapping[str, Any], *, relabel: bool = False) -> LabelReport:
        return self.ingest(labels_frame(labels), relabel=relabel)
