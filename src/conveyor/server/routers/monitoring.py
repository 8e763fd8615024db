"""``/api/v1/alerts`` and ``/api/v1/monitoring``: alerts (list, ack), stored checks over time (samples), a model's
reference statistics, a drift and performance check, and the prediction log in pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from conveyor.core.errors import BadInputError
from conveyor.server.auth import requires
from conveyor.server.deps import ProjectDep
from conveyor.server.limits import json_body
from conveyor.server.paging import Cursor, Limit, as_json, page

router = APIRouter(tags=["monitoring"])
Body = Annotated[dict[str, Any], Depends(json_body)]


@router.get("/alerts", dependencies=[requires("read")])
def alerts(project: ProjectDep, status: str | None = None, subject: str | None = None, cursor: Cursor = None,
           limit: Limit = 50) -> dict[str, Any]:
    """Alerts, newest first."""
    return page(lambda n: project.monitoring.alerts(status=status, subject=subject, limit=n), cursor, limit)


@router.post("/alerts/{alert_id}/ack", dependencies=[requires("monitor.write")])
def ack(project: ProjectDep, alert_id: str) -> dict[str, Any]:
    return as_json(project.monitoring.ack(alert_id))


@router.get("/monitoring/samples", dependencies=[requires("read")])
def samples(project: ProjectDep, subject: str, series: str | None = None, since: float | None = None,
            cursor: Cursor = None, limit: Limit = 500) -> dict[str, Any]:
    """Stored time series of ``subject`` (a model version ``MODEL:N``, or ``train:NAME``): drift scores, live
    metrics, resources; newest first."""
    return page(lambda n: [s for s in project.monitoring.samples(subject, series=series, limit=n)
                           if since is None or s.at >= since], cursor, limit)


@router.get("/monitoring/reference", dependencies=[requires("read")])
def reference(project: ProjectDep, ref: str) -> dict[str, Any]:
    """A model version's reference statistics (computed from its training data on first call)."""
    return project.monitoring.reference_stats(ref)


@router.post("/monitoring/checks", dependencies=[requires("monitor.write", model="body.ref")])
def check(project: ProjectDep, body: Body) -> dict[str, Any]:
    """`conveyor monitor` on the server: ``{"ref", "current"?: NAME@VERSION, "window"?, "since"?,
    "multivariate"?, "record"?}``."""
    ref = body.get("ref")
    if not isinstance(ref, str) or not ref:
        raise BadInputError("A check needs ref (MODEL@ALIAS).", field="ref")
    window = body.get("window")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
        raise BadInputError(f"window must be a positive integer, not {window!r}.", field="window")
    report = project.monitoring.monitor(ref, current=body.get("current"), window=window, since=body.get("since"),
                                        multivariate=bool(body.get("multivariate", False)),
                                        record=bool(body.get("record", True)))
    return report.to_dict()


@router.get("/predictions", dependencies=[requires("read")])
def predictions(project: ProjectDep, model: str | None = None, cursor: Cursor = None, limit: Limit = 50
                ) -> dict[str, Any]:
    """The prediction log, newest first (of model name ``model`` when given)."""
    return page(lambda n: project.stores.predictions.recent(model, n), cursor, limit)
