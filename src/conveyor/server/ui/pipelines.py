"""Pipelines: every pipeline with its steps and triggers and its newest runs, and one run's DAG (the same drawing as
``conveyor pipelines show --html``) with each step's status, duration, attempts and cache hit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from conveyor.pipeline.views import dag_svg
from conveyor.server.ui.pages import Pages

PAGE = 50  # runs listed


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/pipelines")
    @pages.page
    def pipelines(request: Request, pipeline: str = "") -> Response:
        declared = project.pipelines.list()
        runs = project.pipelines.runs(pipeline=pipeline or None, limit=PAGE)
        latest: dict[str, Any] = {}
        for run in project.pipelines.runs(limit=PAGE):
            latest.setdefault(run.pipeline, run)
        rows = []
        for run in runs:  # bounded by PAGE: one steps query per run shown
            steps = project.stores.pipelines.steps(run.id)
            rows.append({"run": run, "steps": len(steps), "cached": sum(1 for s in steps if s.cached)})
        return pages.render(request, "pipelines.html", title="Pipelines", declared=declared, latest=latest,
                            rows=rows, pipeline=pipeline, page=PAGE)

    @api.get("/pipelines/runs/{run_id}")
    @pages.page
    def pipeline_run(request: Request, run_id: str) -> Response:
        view = project.pipelines.dag(run_id)
        return pages.render(request, "pipeline_run.html", title=f"Pipeline run {view['run'][:12]}", view=view,
                            svg=Markup(dag_svg(view)))  # dag_svg escapes every text it draws

    return api
