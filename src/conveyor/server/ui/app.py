"""``mount_ui(app, project)``: the UI's routers and its static files on a FastAPI app."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from conveyor.render import static_dir
from conveyor.server.sessions import install_sessions, ui_session
from conveyor.server.ui import audit, datasets, models, monitoring, overview, pipelines, runs
from conveyor.server.ui.pages import Pages

SECTIONS = (overview, datasets, runs, models, monitoring, pipelines, audit)


def mount_ui(app: FastAPI, project: Any, *, prefix: str = "") -> None:
    """Add the web UI of ``project`` (a :class:`conveyor.Project`) to ``app`` at ``prefix`` ("" = the site root):
    its pages, and its stylesheet and chart scripts at ``PREFIX/static``."""
    pages = Pages(project, prefix)
    app.mount(f"{pages.prefix}/static", StaticFiles(directory=static_dir()), name="ui-static")
    app.include_router(install_sessions(app, pages), prefix=pages.prefix, include_in_schema=False)  # /login
    for section in SECTIONS:  # every page signed in once authentication is on (server/sessions.py)
        app.include_router(section.router(pages), prefix=pages.prefix, include_in_schema=False,
                           dependencies=[Depends(ui_session)])
