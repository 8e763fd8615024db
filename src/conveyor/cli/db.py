"""``conveyor db upgrade`` and ``conveyor db status``: the metadata store's schema revision, and its migration.

User verbs migrate a store they open; platform processes (server, agent, serving replicas) refuse a schema other
than theirs and name `conveyor db upgrade`, which is run once per upgrade, with them stopped."""

from __future__ import annotations

from typing import Any

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, table

app = typer.Typer(help="The metadata store's schema: status and upgrade.", no_args_is_help=True)


def _databases(project: Any) -> list[tuple[str, str]]:
    from conveyor.core.settings import Settings, find_project_root

    settings = Settings.for_project(find_project_root(project))
    found = [("metadata", settings.db_url)]
    if settings.predictions_url and settings.predictions_url != settings.db_url:
        found.append(("prediction log", settings.predictions_url))
    return found


def _revisions(project: Any, migrate: bool) -> list[dict[str, Any]]:
    from conveyor.store.migrate import HEAD, current_revision, upgrade
    from conveyor.store.sql.database import create_engine
    from conveyor.store.urls import mask

    rows = []
    for role, url in _databases(project):
        engine = create_engine(url)
        try:
            before = current_revision(engine)
            if migrate:
                upgrade(engine)
            rows.append({"store": role, "url": mask(url), "revision": current_revision(engine), "before": before,
                         "head": HEAD})
        finally:
            engine.dispose()
    return rows


@app.command("upgrade")
def upgrade_command(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Apply pending schema migrations (stop servers, agents and serving replicas first; start them after)."""
    rows = _revisions(project, migrate=True)
    if json:
        emit_json({"stores": rows})
        return
    table("schema upgrade", ["store", "url", "from", "to"],
          [(r["store"], r["url"], r["before"] or "(new)", r["revision"]) for r in rows])


@app.command("status")
def status_command(project: ProjectOption = None, json: JsonOption = False) -> None:
    """The schema revision of each store beside the one this conveyor needs."""
    rows = _revisions(project, migrate=False)
    for row in rows:
        row["current"] = row["revision"] == row["head"]
    if json:
        emit_json({"stores": rows})
        return
    table("schema", ["store", "url", "revision", "this conveyor"],
          [(r["store"], r["url"], r["revision"] or "(empty)", r["head"]) for r in rows])
