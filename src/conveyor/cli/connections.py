"""`conveyor connections ...`: data sources' credentials, stored sealed and used by name."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, emit_json, open_project, table, when
from conveyor.core.errors import BadInputError

app = typer.Typer(help="Stored connections: a source's URL with its password, sealed under the encryption key.",
                  no_args_is_help=True)


def read_url() -> str:
    """The URL from a hidden prompt, or from stdin when that is not a terminal (no password on the command
    line, in the shell history or the process list)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return typer.prompt("URL (hidden)", hide_input=True)
    text = sys.stdin.read() if sys.stdin is not None else ""
    if not text.strip():
        raise BadInputError("No URL given.", field="url",
                            hint="Pipe the URL on stdin: printf %s \"$URL\" | conveyor connections add NAME.")
    return text.strip()


@app.command("add")
def add(name: Annotated[str, typer.Argument(help="The connection's name (data ingest --connection NAME).")],
        url: Annotated[str | None, typer.Argument(help="A SQLAlchemy URL. Leave it out to type it hidden or pipe "
                                                      "it on stdin (keeps the password out of the shell history)."
                                                 )] = None,
        project: ProjectOption = None, json: JsonOption = False) -> None:
    """Store (or replace) a connection; its password is sealed and never shown again."""
    with open_project(project) as proj:
        added = proj.connections.add(name, url if url is not None else read_url())
    if json:
        emit_json(added)
        return
    typer.echo(f"stored connection {added['name']}: {added['url']}")


@app.command("list")
def list_connections(project: ProjectOption = None, json: JsonOption = False) -> None:
    """Stored connections, their URLs masked."""
    with open_project(project) as proj:
        found = proj.connections.list()
    if json:
        emit_json(found)
        return
    table("Connections", ["name", "url", "updated", "by"],
          [[c["name"], c["url"], when(c["updated_at"]), c["actor"]] for c in found])


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="A stored connection.")], project: ProjectOption = None,
           json: JsonOption = False) -> None:
    """Delete a stored connection (audited)."""
    with open_project(project) as proj:
        proj.connections.remove(name)
    if json:
        emit_json({"name": name, "removed": True})
        return
    typer.echo(f"removed connection {name}")


@app.command("test")
def test(name: Annotated[str, typer.Argument(help="A stored connection.")], project: ProjectOption = None,
         json: JsonOption = False) -> None:
    """Connect and run SELECT 1."""
    with open_project(project) as proj:
        answer = proj.connections.test(name)
    if json:
        emit_json(answer)
        return
    typer.echo(f"connection {name}: ok ({answer['seconds']} s)")
