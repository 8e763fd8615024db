"""How results reach people (rich tables on stdout, progress on stderr) and machines (one JSON document)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

ProjectOption = Annotated[Path | None, typer.Option("--project", help="Project folder (default: nearest "
                                                                      "conveyor.yaml upward, else here).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]

console = Console()
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    view = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        view.add_column(name, overflow="fold")
    for row in rows:
        view.add_row(*(fmt(v) for v in row))
    console.print(view)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def open_project(path: Path | None):
    from conveyor.project import Project  # heavy imports only once a verb needs them

    return Project.open(path)
