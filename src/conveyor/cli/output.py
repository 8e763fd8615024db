"""How results reach people (rich tables on stdout, progress on stderr) and machines (one JSON document)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

ProjectOption = Annotated[Path | None, typer.Option("--project", help="Project folder (default: nearest "
                                                                      "conveyor.yaml upward, else here).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document for machines.")]

# A terminal gets its own width; a pipe or file gets lines long enough not to fold ids and dates.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table; every title, header and cell is escaped, so data never reads as markup (``[/bold]x`` in a
    column name crashed the table)."""
    view = Table(title=escape(title), title_justify="left", header_style="bold")
    for name in columns:
        view.add_column(escape(str(name)), overflow="fold")
    for row in rows:
        view.add_row(*(escape(fmt(v)) for v in row))
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
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def short_ref(ref: str | None) -> str:
    """``name@<64 hex>`` -> ``name@<12 hex>``: enough to be unique, short enough for a table."""
    if not ref:
        return "-"
    name, _, version = ref.partition("@")
    return f"{name}@{version[:12]}" if version else name


def open_project(path: Path | None, *, remote: bool = True, authenticate: bool = True):
    """The project a verb works on: the server's when CONVEYOR_SERVER is set or `conveyor login` stored one
    (``remote``; stderr says so), else the local folder ``path``, with the caller authenticated once identities
    exist (from ``CONVEYOR_TOKEN``): every record this command writes names that identity."""
    from conveyor.core.actors import set_actor

    if remote:
        from conveyor.client.credentials import resolve_target

        target = resolve_target()
        if target is not None:
            from conveyor.client.project import connect  # the client's imports only when it is used

            source = "CONVEYOR_SERVER" if os.environ.get("CONVEYOR_SERVER") else "conveyor login"
            print(f"using the server at {target.url} ({source}), not a local project", file=sys.stderr)
            return connect(target.url, token=target.token)
    from conveyor.project import Project  # heavy imports only once a verb needs them

    project = Project.open(path)
    if not authenticate:  # a platform process (the server) holds the store's credentials and acts as no user
        return project
    try:
        identity = project.identities.whoami()  # None while authentication is off; AuthenticationError if bad
    except BaseException:
        project.close()
        raise
    set_actor(identity.name if identity is not None else None)
    return project


def headline(metrics: dict[str, float], *preferred: str | None) -> str:
    """One metric for a table cell: the first preferred key present, else the first that is not per-trial."""
    key = next((k for k in preferred if k and k in metrics), None)
    key = key or next((k for k in metrics if not k.startswith("trial")), None)
    return f"{key} {fmt(metrics[key])}" if key else "-"
