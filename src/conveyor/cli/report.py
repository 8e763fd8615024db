"""`conveyor report RUN`: the self-contained HTML report of a training run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project


def report(run_id: Annotated[str, typer.Argument(metavar="RUN", help="Training run id (or a unique prefix).")],
           out: Annotated[Path | None, typer.Option("--out", help="HTML file to write (default: report-RUN.html).")]
           = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Write one HTML file (works offline): leaderboard, confusion matrix, ROC/PR, calibration, residuals,
    importance, fairness by group, gates and features."""
    with open_project(project) as proj:
        run = proj.run(run_id)
        path = proj.report(run.id, out or Path(f"report-{run.id[:12]}.html"))
    if json:
        emit_json({"run": run.id, "report": str(path)})
        return
    typer.echo(f"report: {path}")
