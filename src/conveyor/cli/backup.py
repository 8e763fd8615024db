"""``conveyor backup DEST`` and ``conveyor restore SRC [--into PATH]``: a consistent snapshot of the metadata store,
its artifacts (as stored), the audit anchor and the project's files, taken while writers keep writing; and a project
rebuilt from one (into a fresh folder, and a fresh database where CONVEYOR_DB_URL names one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table


def backup(dest: Annotated[Path, typer.Argument(help="A new, empty folder to write the backup to.")],
           project: ProjectOption = None, json: JsonOption = False) -> None:
    """Back up the project: metadata snapshot, artifacts, audit anchor, conveyor.yaml; key ids, never keys."""
    with open_project(project, remote=False) as proj:
        manifest = proj.operations.backup(dest)
    if json:
        emit_json(manifest)
        return
    table(f"backup written to {dest}", ["table", "rows"], sorted(manifest["tables"].items()))
    typer.echo(f"{manifest['artifacts']['objects']} artifacts ({manifest['artifacts']['bytes']} bytes); audit head "
               f"{(manifest['audit_head'] or {}).get('seq', '-')}; schema {manifest['schema']}")


def restore(src: Annotated[Path, typer.Argument(help="A folder written by `conveyor backup`.")],
            into: Annotated[Path, typer.Option("--into", "--project",
                                               help="The new project folder (default: here).")] = Path("."),
            json: JsonOption = False) -> None:
    """Rebuild a project from a backup: conveyor.yaml, the audit anchor, every table and artifact (into
    CONVEYOR_DB_URL / CONVEYOR_ARTIFACTS when set, which must be empty). Then put the keys back and run
    `conveyor models audit`."""
    from conveyor.project.operations import restore_project

    result = restore_project(src, into)
    if json:
        emit_json(result)
        return
    table(f"restored into {result['project']}", ["table", "rows"], sorted(result["tables"].items()))
    typer.echo(f"{result['artifacts']} artifacts restored")
    for note in result["notes"]:
        typer.echo(f"  note: {note}")
