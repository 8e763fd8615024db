"""A served project with authentication on: one identity per role (and a viewer granted ``approver`` on model
``churn``), their tokens, and a small HTTP helper. Shared by the authentication tests of tests/server/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conveyor.project import Project
from conveyor.security import add_identity, grant

ROLES = ("viewer", "scientist", "approver", "admin")


@dataclass
class Served:
    url: str
    project: Project
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)  # identity name -> secret

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens.get(who, who)}"
        full = path if path.startswith("/api/") else f"/api/v1{path}"
        return httpx.request(method, f"{self.url}{full}", headers=headers, timeout=30, **kwargs)


def add_users(project: Project) -> dict[str, str]:
    """An identity per role, named after it, plus ``granted`` (a viewer with approver on model churn)."""
    tokens = {role: add_identity(project.stores, role, role, actor="tests").secret for role in ROLES}
    tokens["granted"] = add_identity(project.stores, "granted", "viewer", actor="tests").secret
    grant(project.stores, "granted", "model", "churn", "approver", actor="tests")
    return tokens


def serve(project: Project) -> Iterator[Served]:
    from conveyor.serve import running_server
    from conveyor.server import create_app

    app = create_app(project)
    with running_server(app) as url:
        yield Served(url, project, app)


def bare_project(root: Path, **security: Any) -> Project:
    project = Project.init(root, name="guarded")
    if security:
        project.configure("security", **security)
    return project
