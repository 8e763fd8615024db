"""``conveyor feedback ingest FILE --id-column ID --label-column L``: delayed ground truth from a table, written
once per prediction id, with a progress bar and a report of matched, unmatched and duplicate rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.data import byte_progress
from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table

app = typer.Typer(help="Ground truth for logged predictions, in bulk.", no_args_is_help=True)


@app.command("ingest")
def ingest(path: Annotated[Path, typer.Argument(help="A CSV, Parquet or JSON-lines file of ids and labels.")],
           id_column: Annotated[str, typer.Option("--id-column", help="The prediction id column.")] = "id",
           label_column: Annotated[str, typer.Option("--label-column", help="The label column.")] = "label",
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Attach labels to logged predictions by id (an id already labelled keeps its label)."""
    with open_project(project, remote=False) as proj, byte_progress("labels", not json, unit="rows") as bar:
        report = proj.operations.ingest_feedback(path, id_column=id_column, label_column=label_column,
                                                 progress=bar)
    if json:
        emit_json(report.as_dict())
        return
    table(f"feedback from {path}", ["rows", "matched", "unmatched", "duplicates", "conflicting"],
          [(report.rows, report.matched, report.unmatched, report.duplicates, len(report.conflicting))])
    if report.unmatched_sample:
        typer.echo(f"  unmatched (unknown or already labelled), e.g.: {', '.join(report.unmatched_sample[:5])}")
