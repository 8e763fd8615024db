"""``project.feedback`` against a server: the client reads the labels table itself and sends it in chunks to
``POST /api/v1/feedback`` (the server never reads a user's file)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from conveyor.client._base import RemoteAPI
from conveyor.monitor.feedback import LabelReport, ingest_labels, labels_frame

REQUEST_LABELS = 5_000
"""Labels per request: well inside the server's JSON body limit."""


class RemoteFeedback(RemoteAPI):
    """:class:`~conveyor.project.feedback.FeedbackAPI` over a server."""

    def ingest(self, source: str | Path | pd.DataFrame, *, id_column: str = "id", label_column: str = "label",
               relabel: bool = False, format: str | None = None,
               on_rows: Callable[[int], None] | None = None) -> LabelReport:
        from conveyor.project.feedback import label_chunks  # reading files is the client's job


        def write(labels: dict[str, Any]) -> tuple[int, int, list[str]]:
            answer = self.connection.post("/feedback", {"labels": labels, "relabel": relabel})
            return answer["labelled"], answer["not_updated"], answer["examples"].get("not_updated", [])

        return ingest_labels(write, label_chunks(source, id_column, format, rows=REQUEST_LABELS), id_column,
                             label_column, on_rows=on_rows)

    def add(self, labels: Mapping[str, Any], *, relabel: bool = False) -> LabelReport:
        return self.ingest(labels_frame(labels), relabel=relabel)
