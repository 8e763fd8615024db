"""`conveyor runs ...`: tracked runs."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import (
    JsonOption,
    ProjectOption,
    emit_json,
    headline,
    open_project,
    short_ref,
    table,
    when,
)

app = typer.Typer(help="Tracked runs: list, show, compare.", no_args_is_help=True)


def run_dict(r) -> dict:
    return {"id": r.id, "name": r.name, "status": r.status, "started_at": r.started_at, "ended_at": r.ended_at,
            "dataset": r.dataset, "params": r.params, "metrics": r.metrics, "tags": r.tags, "artifacts": r.artifacts,
            "experiment": getattr(r, "experiment", None)}


@app.command("list")
def list_runs(order_by: Annotated[str | None, typer.Option("--order-by", help="Sort by this metric.")] = None,
              ascending: Annotated[bool, typer.Option("--ascending", help="Smallest metric first.")] = False,
              limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
              experiment: Annotated[str | None, typer.Option(
                  "--experiment", help="Only runs of this experiment (name or id; MLflow clients create them).")
              ] = None,
              project: ProjectOption = None, json: JsonOption = False) -> None:
    """List runs, newest first (or best first by --order-by METRIC)."""
    with open_project(project) as proj:
        found = proj.runs.list(order_by_metric=order_by, ascending=ascending, limit=limit,
                               **({"experiment": experiment} if experiment is not None else {}))
    if json:
        emit_json([run_dict(r) for r in found])
        return
    table("Runs", ["run", "name", "status", "started", "metric", "model", "dataset"],
          [[r.id[:12], r.name, r.status, when(r.started_at), headline(r.metrics, order_by, r.params.get("metric")),
            r.tags.get("model_version"), short_ref(r.dataset)] for r in found])


@app.command("show")
def show(run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
         project: ProjectOption = None, json: JsonOption = False) -> None:
    """Params, metrics, tags, artifacts and lineage of one run."""
    with open_project(project) as proj:
        run = proj.runs.get(run_id)
    if json:
        emit_json(run_dict(run))
        return
    typer.echo(f"run {run.id}  {run.name}  {run.status}  dataset={run.dataset}")
    table("Params", ["param", "value"], sorted(run.params.items()))
    table("Metrics", ["metric", "value"], sorted(run.metrics.items()))
    table("Tags", ["tag", "value"], sorted(run.tags.items()))


@app.command("compare")
def compare(run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
            project: ProjectOption = None, json: JsonOption = False) -> None:
    """Params and metrics of several runs side by side."""
    with open_project(project) as proj:
        found = proj.runs.compare(run_ids)
    if json:
        emit_json([run_dict(r) for r in found])
        return
    keys = sorted({k for r in found for k in r.metrics}) + sorted({f"param.{k}" for r in found for k in r.params})
    rows = [[k] + [r.params.get(k[6:]) if k.startswith("param.") else r.metrics.get(k) for r in found] for k in keys]
    table("Runs compared", ["", *(r.id[:12] for r in found)], rows)
