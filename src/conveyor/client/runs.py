"""``project.runs`` against a server."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.client._base import RemoteAPI
from conveyor.client.tracking import RemoteActiveRun, start_remote_run
from conveyor.core.entities import DatasetVersion, Metric, Run
from conveyor.project._base import write_page
from conveyor.train.report import render_report


def run_from(item: dict[str, Any]) -> Run:
    return Run(**item)


class RemoteRuns(RemoteAPI):
    """:class:`~conveyor.project.runs.RunsAPI` over a server."""

    def start(self, *, name: str | None = None, dataset: DatasetVersion | str | None = None,
              tags: dict[str, Any] | None = None) -> RemoteActiveRun:
        """A tracked run for your own training code, recorded on the server: ``with project.runs.start(...)``."""
        ref = dataset.ref if isinstance(dataset, DatasetVersion) else dataset
        return start_remote_run(self.connection, name=name, dataset=ref, tags=tags)

    def get(self, run_id: str) -> Run:
        return run_from(self.connection.get(f"/runs/{quote(run_id)}"))

    def list(self, *, order_by_metric: str | None = None, ascending: bool = False, dataset: str | None = None,
             limit: int | None = None, experiment: str | None = None) -> builtins.list[Run]:
        return [run_from(item) for item in self.connection.items("/runs", limit, order_by=order_by_metric,
                                                                 ascending=ascending, dataset=dataset,
                                                                 experiment=experiment)]

    def compare(self, run_ids: Sequence[str]) -> builtins.list[Run]:
        return [run_from(item) for item in self.connection.get("/runs/compare", ids=list(run_ids))]

    def metric_history(self, run_id: str, key: str) -> builtins.list[Metric]:
        return [Metric(**m) for m in self.connection.items(f"/runs/{quote(run_id)}/metrics/{quote(key)}")]

    def resolve(self, ref: str) -> Run:
        return run_from(self.connection.get("/runs/resolve", ref=ref))

    def evaluation(self, ref: str) -> dict[str, Any]:
        return self.connection.get(f"/runs/{quote(ref, safe='@:')}/evaluation")

    def report(self, ref: str, path: str | Path) -> Path:
        """The run's HTML report, drawn here from the evaluation the server keeps."""
        run = self.resolve(ref)
        return write_page(path, render_report(run, self.evaluation(run.id)))
