"""The server's ASGI app: ``create_app(project)``, one router per domain under ``/api/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from conveyor._version import __version__
from conveyor.core.settings import STATE_DIR
from conveyor.server import errors
from conveyor.server.auth import Gate, requires
from conveyor.server.jobs import JobBoard
from conveyor.server.limits import Limits
from conveyor.server.mlflow import build_router as mlflow_router
from conveyor.server.routers import (
    approvals,
    connections,
    data,
    feedback,
    health,
    info,
    jobs,
    models,
    monitoring,
    pipelines,
    runs,
    training,
    uploads,
)
from conveyor.server.ui import mount_ui
from conveyor.server.uploads import UploadArea

if TYPE_CHECKING:
    from conveyor.project import Project

API = "/api/v1"
ROUTERS = (health, info, data, connections, runs, models, approvals, monitoring, feedback, training, uploads, jobs,
           pipelines)


def create_app(project: Project, *, limits: Limits | None = None, jobs_board: JobBoard | None = None) -> FastAPI:
    """The REST API (and, once mounted, the web UI) over ``project``; the project stays open for the app's life."""
    app = FastAPI(title="Conveyor", version=__version__, openapi_url=f"{API}/openapi.json", docs_url=f"{API}/docs",
                  redoc_url=None)
    app.state.project = project
    app.state.limits = limits or Limits()
    app.state.uploads = UploadArea(project.root / STATE_DIR / "uploads")
    app.state.jobs = jobs_board or JobBoard.for_project(project)
    app.state.gate = Gate(project)  # authentication, roles, rate limits, access log, security signals
    errors.install(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=API)
    app.include_router(mlflow_router(requires))  # /api/2.0/mlflow/...: MLflow clients, under the same roles
    mount_ui(app, project)  # the team's pages at /, beside the API
    return app
