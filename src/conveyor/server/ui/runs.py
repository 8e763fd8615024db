"""Runs: a sortable, filterable table (bounded: the newest runs the filter scans, a page of them shown), a run with
its metric history and evaluation, and runs side by side."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from conveyor.core.errors import BadInputError
from conveyor.render import charts
from conveyor.server.ui.pages import Pages

PAGE = 100  # rows shown
SCAN = 5000  # the newest runs a filter or a column sort looks at
COLUMNS = ("started", "name", "status", "dataset", "duration")
HISTORIES = 12  # metric charts on a run's page
POINTS = 1000  # points drawn of one metric's history: the first, the last and each stretch's lowest and highest


def _key(column: str) -> Any:
    if column == "duration":
        return lambda r: (r.ended_at or r.started_at) - r.started_at
    if column == "started":
        return lambda r: r.started_at
    return lambda r: str(getattr(r, column) or "")


def _matches(run: Any, q: str, status: str) -> bool:
    if status and run.status != status:
        return False
    if not q:
        return True
    text = " ".join([run.id, run.name, run.dataset or "", *(f"{k}={v}" for k, v in run.params.items()),
                     *(f"{k}={v}" for k, v in run.tags.items())]).lower()
    return all(word in text for word in q.lower().split())


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/runs")
    @pages.page
    def runs(request: Request, q: str = "", status: str = "", dataset: str = "", sort: str = "started",
                   order: str = "desc", limit: int = PAGE) -> Response:
        limit = max(1, min(limit, 500))
        descending = order != "asc"
        metric = sort[len("metric:"):] if sort.startswith("metric:") else None
        if not metric and sort not in COLUMNS:
            raise BadInputError(f"Cannot sort runs by {sort!r}.", field="sort",
                                hint=f"Sort by one of {', '.join(COLUMNS)} or metric:NAME.")
        filtered = bool(q or status) or (not metric and (sort != "started" or not descending))
        found = project.runs.list(order_by_metric=metric, ascending=not descending, dataset=dataset or None,
                                  limit=SCAN if filtered else limit)
        rows = [r for r in found if _matches(r, q, status)]
        if not metric:
            rows.sort(key=_key(sort), reverse=descending)
        metrics = sorted({k for r in rows[:limit] for k in r.metrics})[:8]
        return pages.render(request, "runs.html", title="Runs", rows=rows[:limit], matched=len(rows),
                            scanned=len(found), metrics=metrics, q=q, run_status=status, dataset=dataset, sort=sort,
                            order="desc" if descending else "asc", limit=limit, scan=SCAN if filtered else None)

    @api.get("/runs/compare")
    @pages.page
    def compare(request: Request, ids: list[str] = Query(default=[])) -> Response:
        if len(ids) < 2:
            raise BadInputError("Compare needs at least two runs.", field="ids",
                                hint="Tick two or more runs in the runs table and press Compare.")
        chosen = project.runs.compare(ids[:10])
        keys = sorted({k for r in chosen for k in r.metrics})
        params = sorted({k for r in chosen for k in r.params})
        chart = charts.bars("Metrics side by side", keys,
                            {f"{r.name} ({r.id[:8]})": [r.metrics.get(k) for k in keys] for r in chosen})
        return pages.render(request, "compare.html", title="Compare runs", chosen=chosen, keys=keys, params=params,
                            metrics_chart=chart)

    @api.get("/runs/{run_id}")
    @pages.page
    def run(request: Request, run_id: str) -> Response:
        found = project.runs.get(run_id)
        history = {}
        for key in sorted(found.metrics)[:HISTORIES]:
            points = project.stores.runs.metric_series(found.id, key, POINTS)  # bounded, by the database
            if len(points) > 1:
                history[key] = charts.line(f"{key} by step", {key: [[p.step, p.value] for p in points]},
                                           x_label="step", y_label=key)
        ev = project.runs.evaluation(found.id) if "evaluation.json" in found.artifacts else None
        models = project.stores.registry.versions_of_run(found.id)  # by an index, not every version
        return pages.render(request, "run.html", title=f"Run {found.name}", run=found, history=history, ev=ev,
                            charts=_report_parts(ev) if ev else None, models=models)

    return api


def _report_parts(evaluation: Any) -> Any:
    from conveyor.train.report import report_parts  # deferred: the training report's stack

    return report_parts(evaluation)
