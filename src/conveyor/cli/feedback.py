"""`conveyor feedback ...`: ground truth for logged predictions, in bulk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table

app = typer.Typer(help="Ground truth for logged predictions (delayed labels).", no_args_is_help=True)


@app.command("ingest")
def ingest(file: Annotated[Path, typer.Argument(help="A CSV, Parquet or JSON lines table of labels.")],
           id_column: Annotated[str, typer.Option("--id-column", help="The column of prediction ids (the 'ids' "
                                                                     "a serving answer gave).")] = "id",
           label_column: Annotated[str, typer.Option("--label-column", help="The column of labels.")] = "label",
           relabel: Annotated[bool, typer.Option("--relabel", help="Correct labels that are already set (an "
                                                                  "approver's or admin's right; audited).")] = False,
           format: Annotated[str | None, typer.Option("--format", help="csv, parquet, jsonl or json (default: "
                                                                      "from the suffix).")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Attach a table of labels to the prediction log by prediction id; labels are written once."""
    from conveyor.cli.progress import rows_progress

    with open_project(project) as proj, rows_progress("labels", enabled=not json) as on_chunk:
        report = proj.feedback.ingest(file, id_column=id_column, label_column=label_column, relabel=relabel,
                                      format=format, on_rows=(lambda rows: on_chunk(rows, None)) if on_chunk
                                      else None)
    if json:
        emit_json(report.to_dict())
        return
    table(f"Labels from {file.name}", ["rows", "labelled", "not updated (unknown id or already labelled)",
                                        "duplicate ids", "conflicting duplicates", "no id or label"],
          [[report.rows, report.labelled, report.not_updated, report.duplicates, report.conflicting,
            report.missing_label]])
    for kind, ids in report.examples.items():
        typer.echo(f"{kind.replace('_', ' ')}: {', '.join(ids)}{' ...' if len(ids) >= 20 else ''}")
