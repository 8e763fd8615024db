"""Monitoring of a model version (drift per column over time, live performance with its confidence band, latency
and resources, its alerts), and the alerts page with acknowledge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from conveyor.render import charts
from conveyor.server.ui.pages import Pages

SAMPLES = 5000  # the newest samples a page draws
OVERALL = ("drift.share", "drift.prediction", "drift.multivariate_auc")  # drift series that are not a column


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/monitoring/{ref}")
    @pages.page
    def monitoring(request: Request, ref: str) -> Response:
        model = project.models.get(ref)
        samples = project.stores.monitoring.samples(model.ref, limit=SAMPLES)
        columns: dict[str, list[list[float]]] = {}
        for s in samples:
            if s.series.startswith("drift.") and s.series not in OVERALL:
                columns.setdefault(s.series[len("drift."):], []).append([s.at, s.value])
        per_column = charts.line("Drift score per column over time", columns, time=True, y_label="score") \
            if columns else None
        live: dict[str, list[list[float]]] = {s.series: [] for s in samples if s.series.startswith("live.")}
        for s in samples:
            if s.series in live:
                live[s.series].append([s.at, s.value])
        performance = []
        for series, points in sorted(live.items()):
            if series.endswith(("_low", "_high")):
                continue
            low, high = live.get(f"{series}_low"), live.get(f"{series}_high")
            if low and high:
                performance.append(charts.line(f"{series} with its confidence interval",
                                               {series: points, "low": low, "high": high}, time=True,
                                               band=("low", "high")))
            else:
                performance.append(charts.line(series, {series: points}, time=True))
        others = [s for s in samples if not s.series.startswith(("drift.", "live.")) or s.series in OVERALL]
        last = {s.series: s for s in samples if s.series.startswith("drift.")}
        alerts = project.monitoring.alerts(subject=model.ref, limit=200)
        return pages.render(request, "monitoring.html", title=f"Monitoring {model.ref}", mv=model,
                            per_column=per_column, performance=performance, others=_history_charts(others),
                            last=sorted(last.values(), key=lambda s: -s.value), alerts=alerts, samples=len(samples))

    @api.get("/alerts")
    @pages.page
    def alerts(request: Request, status: str = "", done: str = "") -> Response:
        found = project.monitoring.alerts(status=status or None, limit=500)
        return pages.render(request, "alerts.html", title="Alerts", alerts=found, done=done)

    @api.post("/alerts/{alert_id}/ack")
    @pages.page
    async def ack(request: Request, alert_id: str) -> Response:
        _form, refused = await pages.form(request)
        if refused:
            return pages.render(request, "error.html", status=403, title="Refused", message=refused, hint=None)
        alert = await run_in_threadpool(project.monitoring.ack, alert_id)
        return pages.redirect("/alerts", done=f"acknowledged {alert.id[:8]}")

    return api


def _history_charts(others: Any) -> Any:
    from conveyor.monitor.report import history_charts  # deferred: the monitoring stack (scikit-learn)

    return history_charts(others)
