"""``conveyor data forget NAME --where EXPR | --value V``: erase a person's rows from a dataset and everything
derived from it (old versions tombstoned, the newest written again without them; audited without the values)."""

from __future__ import annotations

from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table


def forget(name: Annotated[str, typer.Argument(help="The dataset to erase rows from.")],
           where: Annotated[str | None, typer.Option("--where", help='Rows to erase: a pandas expression, '
                                                                     'e.g. "customer_id == 42".')] = None,
           value: Annotated[list[str] | None, typer.Option("--value", help="Erase rows holding this value in a "
                                                                          "personal column (repeatable).")] = None,
           column: Annotated[list[str] | None, typer.Option("--column", help="The columns --value is matched in "
                                                                            "(default: data.sensitive).")] = None,
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Erase rows: every version holding them is tombstoned (its file destroyed, or its data key with encryption
    on), the newest version is written again without them, matching prediction-log rows are deleted, and the
    models trained on erased data are listed so they can be retrained."""
    with open_project(project, remote=False) as proj:
        report = proj.operations.forget(name, where=where, values=value or (), columns=column or ())
    if json:
        emit_json(report.as_dict())
        return
    table(f"erasure {report.id}: {report.rows} rows of {name} ({report.mode})", ["what", "items"],
          [("tombstoned versions", ", ".join(report.tombstoned) or "-"),
           ("new versions", ", ".join(report.new_versions) or "-"),
           ("prediction rows deleted", report.predictions),
           ("models trained on erased data (retrain them)", ", ".join(report.models) or "-"),
           ("derived versions without the columns (review them)", ", ".join(report.unchecked) or "-")])


def register(data_app: typer.Typer) -> None:
    data_app.command("forget")(forget)
