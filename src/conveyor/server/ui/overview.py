"""The overview: every model with its champion (or last environment), health, last drift verdict, live metric and
open alerts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from conveyor.server.ui.pages import Pages

PRODUCTION = ("champion", "prod", "production")


def production_alias(aliases: dict[str, int]) -> str | None:
    """The alias that names what serves users: champion (or prod), else the first one there is."""
    for name in PRODUCTION:
        if name in aliases:
            return name
    return next(iter(sorted(aliases)), None)


LIVE = ("live.accuracy", "live.roc_auc", "live.f1", "live.rmse", "live.mae", "live.r2")


def last_value(project: Any, subject: str, series: str) -> tuple[str, float] | None:
    """The newest sample of ``series`` for ``subject``; of "live.*", the headline metric of the newest check."""
    found = project.stores.monitoring.samples(subject, series=series, limit=50)
    if not found:
        return None
    newest = [s for s in found if s.at == found[-1].at]
    pick = next((s for name in LIVE for s in newest if s.series == name), newest[-1])
    return pick.series, pick.value


def model_row(project: Any, name: str, open_alerts: dict[str, int]) -> dict[str, Any]:
    aliases = project.models.aliases(name)
    alias = production_alias(aliases)
    version = aliases.get(alias) if alias else max(v.version for v in project.models.list(name))
    subject = f"{name}:{version}"
    drift = last_value(project, subject, "drift.share")
    live = last_value(project, subject, "live.*")
    alerts = sum(n for s, n in open_alerts.items() if s in (subject, name) or s.startswith(f"{name}:"))
    health = "alerts open" if alerts else "drift" if drift and drift[1] > 0 else \
        "healthy" if drift else "not monitored"
    return {"name": name, "alias": alias, "version": version, "aliases": aliases, "drift": drift, "live": live,
            "alerts": alerts, "health": health}


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/")
    @pages.page
    def overview(request: Request) -> Response:
        open_alerts: dict[str, int] = {}
        for alert in project.monitoring.alerts(status="open", limit=1000):
            open_alerts[alert.subject] = open_alerts.get(alert.subject, 0) + 1
        names = project.stores.registry.names()
        rows = [model_row(project, name, open_alerts) for name in names]
        latest = project.runs.list(limit=5)
        return pages.render(request, "overview.html", title="Overview", models=rows, runs=latest,
                            datasets=len({v.name for v in project.data.list()}), open_alerts=sum(open_alerts.values()))

    return api
