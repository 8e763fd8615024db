"""Models: every name; a model's versions, aliases with their history and the promote form; a version's card and
lineage (data version -> run -> model version -> aliases -> served predictions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from conveyor.core.errors import ConveyorError
from conveyor.server.ui.pages import Pages


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/models")
    @pages.page
    def models(request: Request) -> Response:
        rows = []
        for name in project.stores.registry.names():
            versions = project.models.list(name)
            rows.append({"name": name, "versions": len(versions), "latest": max(versions, key=lambda v: v.version),
                         "deleted": len(project.models.deleted(name)), "aliases": project.models.aliases(name)})
        return pages.render(request, "models.html", title="Models", rows=rows)

    @api.get("/models/{name}")
    @pages.page
    def model(request: Request, name: str, done: str = "", failed: str = "") -> Response:
        versions = sorted(project.models.list(name), key=lambda v: -v.version)
        deleted = project.models.deleted(name)  # by an MLflow client: listed, marked, not offered for promotion
        aliases = project.models.aliases(name)
        history = sorted((c for alias in aliases for c in project.stores.registry.alias_history(name, alias)),
                         key=lambda c: -c.at)
        return pages.render(request, "model.html", title=f"Model {name}", name=name, versions=versions,
                            aliases=aliases, history=history[:100], done=done, failed=failed, deleted=deleted)

    @api.post("/models/{name}/promote")
    @pages.page
    async def promote(request: Request, name: str) -> Response:
        form, refused = await pages.form(request)
        if refused:
            return pages.render(request, "error.html", status=403, title="Refused", message=refused, hint=None)
        ref, alias = f"{name}:{form.get('version', '')}", form.get("alias", "").strip()
        try:
            change = await run_in_threadpool(project.models.promote, ref, alias, reason=form.get("reason", ""))
        except ConveyorError as exc:
            return pages.redirect(f"/models/{name}", failed=str(exc)[:300])
        return pages.redirect(f"/models/{name}", done=f"{alias} now points at version {change.version}")

    @api.get("/models/{name}/{version}")
    @pages.page
    def version(request: Request, name: str, version: int) -> Response:
        found = project.models.get(f"{name}:{version}")
        card = project.models.card(found.ref)
        run = project.runs.get(found.run_id) if found.run_id else None
        aliases = [a for a, v in project.models.aliases(name).items() if v == found.version]
        served = project.stores.monitoring.samples(found.ref, series="live.*", limit=1)
        return pages.render(request, "model_version.html", title=f"Model {found.ref}", mv=found, card=card,
                            run=run, aliases=aliases, deleted=found.ref in project.models.deleted(name),
                            monitored=bool(served) or bool(
                                project.stores.monitoring.samples(found.ref, series="drift.share", limit=1)))

    return api
