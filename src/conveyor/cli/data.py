"""`conveyor data ...`: ingest and inspect dataset versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table, when

app = typer.Typer(help="Dataset versions: ingest, list, show.", no_args_is_help=True)


def version_dict(v) -> dict:
    return {"name": v.name, "version": v.version, "ref": v.ref, "rows": v.rows, "columns": v.columns,
            "source": v.source, "created_at": v.created_at, "parents": v.parents, "bytes": v.meta.get("bytes")}


@app.command("ingest")
def ingest(source: Annotated[Path, typer.Argument(help="A .csv, .parquet or .jsonl file.")],
           name: Annotated[str, typer.Option("--name", help="Dataset name.")],
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Store a file as a content-addressed dataset version (the same content gives the same version)."""
    with open_project(project) as proj:
        before = {v.version for v in proj.stores.metadata.list_dataset_versions(name)}
        version = proj.ingest(source, name)
        created = version.version not in before
    if json:
        emit_json({**version_dict(version), "created": created})
        return
    state = "new version" if created else "unchanged (already stored)"
    typer.echo(f"{version.ref}  {version.rows} rows x {len(version.columns)} columns  {state}")


@app.command("list")
def list_versions(name: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
                  project: ProjectOption = None, json: JsonOption = False) -> None:
    """List dataset versions, oldest first."""
    with open_project(project) as proj:
        versions = proj.datasets(name)
    if json:
        emit_json([version_dict(v) for v in versions])
        return
    table("Dataset versions", ["dataset", "version", "rows", "columns", "created", "source"],
          [[v.name, v.version[:12], v.rows, len(v.columns), when(v.created_at), v.source] for v in versions])


@app.command("show")
def show(ref: Annotated[str, typer.Argument(help="NAME or NAME@VERSION.")],
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Schema, profile and lineage of one dataset version."""
    with open_project(project) as proj:
        version = proj.dataset(ref)
        runs = proj.runs(dataset=version.name)
        used_by = [r for r in runs if r.dataset == f"{version.name}@{version.version}"]
    if json:
        emit_json({**version_dict(version), "profile": version.profile, "runs": [r.id for r in used_by],
                   "models": sorted({r.tags["model_version"] for r in used_by if "model_version" in r.tags})})
        return
    typer.echo(f"{version.ref}  rows={version.rows}  source={version.source}  created={when(version.created_at)}")
    columns = version.profile.get("columns", {})
    table("Columns", ["column", "kind", "dtype", "nulls", "distinct", "min", "mean", "max"],
          [[c["name"], c["kind"], c["dtype"], columns.get(c["name"], {}).get("nulls"),
            columns.get(c["name"], {}).get("distinct"), columns.get(c["name"], {}).get("min"),
            columns.get(c["name"], {}).get("mean"), columns.get(c["name"], {}).get("max")] for c in version.columns])
    if used_by:
        table("Used by runs", ["run", "name", "model"],
              [[r.id[:12], r.name, r.tags.get("model_version")] for r in used_by])
