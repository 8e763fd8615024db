"""The web UI: server-rendered pages (conveyor.render's Jinja2 environment and charts) over a project's Python API.

``mount_ui(app, project)`` adds the pages at ``/`` (and their static files at ``/static``) to a FastAPI app; the
REST server calls it once. Pages: overview, datasets (versions, profile, contract, lineage, diff), runs (a
sortable, filterable table, a run with its metric history and evaluation, a side-by-side comparison), models
(versions, aliases and their history, the card, lineage, promote), monitoring (drift per column over time, live
performance, resources, alerts), alerts (with ack) and the audit trail. Forms that change state carry a CSRF token
(double-submit cookie, SameSite=Strict).
"""

from __future__ import annotations

from conveyor.server.ui.app import mount_ui

__all__ = ["mount_ui"]
