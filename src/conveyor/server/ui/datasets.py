"""Datasets: every name with its versions; a version's profile, contract and lineage; a diff of two versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from conveyor.core.errors import BadInputError, NotFoundError
from conveyor.server.ui.pages import Pages


def _contract(project: Any, name: str) -> str | None:
    path = project.data.contract_path(name)
    return path.read_text() if path.is_file() else None


def router(pages: Pages) -> APIRouter:
    api = APIRouter()
    project = pages.project

    @api.get("/datasets")
    @pages.page
    def datasets(request: Request) -> Response:
        names: dict[str, list[Any]] = {}
        for version in project.data.list():
            names.setdefault(version.name, []).append(version)
        rows = [{"name": n, "versions": len(vs), "latest": max(vs, key=lambda v: v.created_at)}
                for n, vs in sorted(names.items())]
        return pages.render(request, "datasets.html", title="Datasets", rows=rows)

    @api.get("/datasets/{name}/diff")
    @pages.page
    def diff(request: Request, name: str, a: str, b: str) -> Response:
        first, second = project.data.get(f"{name}@{a}"), project.data.get(f"{name}@{b}")
        result = project.data.diff(f"{name}@{first.version}", f"{name}@{second.version}")
        from conveyor.data.diff import diff_charts, schema_text  # deferred: pandas

        return pages.render(request, "dataset_diff.html", title=f"Diff {first.ref} vs {second.ref}", name=name,
                            diff=result, a=first, b=second, schema_text=schema_text(result),
                            charts=diff_charts(result, first, second))

    @api.get("/datasets/{name}")
    @pages.page
    def dataset(request: Request, name: str) -> Response:
        entries = project.data.log(name)
        if not entries:
            raise NotFoundError(f"No dataset {name!r}.", hint="See the datasets page for the names there are.")
        return pages.render(request, "dataset.html", title=f"Dataset {name}", name=name,
                            entries=list(reversed(entries)), contract=_contract(project, name))

    @api.get("/datasets/{name}/{version}")
    @pages.page
    def version(request: Request, name: str, version: str) -> Response:
        found = project.data.get(f"{name}@{version}")
        if found.name != name:
            raise BadInputError(f"{found.ref} is not a version of {name}.")
        lineage = project.data.lineage(found.ref)
        previous = [e for e in project.data.log(name) if e["version"] != found.version
                    and project.data.get(e["ref"]).created_at < found.created_at]
        return pages.render(request, "dataset_version.html", title=f"Dataset {found.ref}", ds=found,
                            lineage=lineage, previous=previous[-1] if previous else None,
                            columns=found.profile.get("columns", {}), contract=_contract(project, name))

    return api
