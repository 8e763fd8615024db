"""`conveyor report RUN|MODEL[@ALIAS|:N]`: the self-contained HTML report of a training run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project


def report(ref: Annotated[str, typer.Argument(metavar="RUN|MODEL[@ALIAS|:N]",
                                              help="A training run id (or a unique prefix), or a model version: the "
                                                   "report of the run that produced it.")],
           html: Annotated[Path | None, typer.Option("--html", "--out", help="HTML file to write (default: "
                                                     "report-RUN.html).")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Write one HTML file (works offline): leaderboard, confusion matrix, ROC/PR, calibration, residuals,
    importance, fairness by group, gates and features."""
    with open_project(project) as proj:
        run = proj.runs.resolve(ref)
        path = proj.runs.report(run.id, html or Path(f"report-{run.id[:12]}.html"))
    if json:
        emit_json({"run": run.id, "model_version": run.tags.get("model_version"), "report": str(path)})
        return
    typer.echo(f"report: {path}")
