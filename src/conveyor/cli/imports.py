"""`conveyor import ...`: bring another tool's history into the project (today: an MLflow store)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table
from conveyor.cli.progress import items_progress

app = typer.Typer(help="Import another tool's store: experiments, runs, metrics, artifacts, models.",
                  no_args_is_help=True)


@app.command("mlflow")
def mlflow(source: Annotated[str, typer.Option(
               "--from", help="The MLflow store: sqlite:///mlflow.db, a tracking server's URI, or an mlruns folder.")],
           artifacts: Annotated[Path | None, typer.Option(
               "--artifacts", help="Where the store's artifact root is now, when it was moved.")] = None,
           mlflow_python: Annotated[str | None, typer.Option(
               "--mlflow-python", help="A Python with mlflow installed, which reads the store (default: "
                                       "$CONVEYOR_MLFLOW_PYTHON, else the first python on PATH with mlflow).")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Copy experiments, runs (params, tags, full metric history, artifacts), registered model versions and aliases
    from MLflow, keeping MLflow's run ids; a second import adds nothing. Pickled models arrive untrusted: `conveyor
    models trust NAME:N` makes one loadable."""
    from conveyor.interop.mlflow.importer import KINDS, import_mlflow
    from conveyor.security.identities import authorize

    with open_project(project, remote=False) as proj, items_progress("importing from MLflow",
                                                                      enabled=not json) as on_item:
        for action in ("runs.write", "models.register"):  # with authentication on, the token's role must allow both
            authorize(proj.stores, action, os.environ.get("CONVEYOR_TOKEN"))
        summary = import_mlflow(proj.stores, source, artifacts=artifacts, python=mlflow_python,
                                on_progress=on_item)
    if json:
        emit_json(summary.to_dict())
        return
    table(f"Imported from {summary.source}", ["kind", "added", "already there"],
          [[kind, summary.added[kind], summary.existing[kind]] for kind in KINDS])
    for line in summary.skipped:
        typer.echo(f"  skipped {line}")
    if summary.added["model versions"]:
        typer.echo("  model versions are stored untrusted (pickles): `conveyor models trust NAME:N` makes one "
                   "loadable")
