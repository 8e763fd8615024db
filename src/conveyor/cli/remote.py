"""`conveyor login URL` and `conveyor logout`: the server (and token) every verb then works against."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from conveyor.cli.output import JsonOption, emit_json

# every verb takes --project; a login belongs to the user, not to a project, so here it changes nothing
UnusedProject = Annotated[Path | None, typer.Option("--project", help="Not used: a login is per user.")]


def login(url: Annotated[str, typer.Argument(help="The server, e.g. https://conveyor.example.com")],
          token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the token from stdin (for "
                                                    "scripts); otherwise a hidden prompt asks for it.")] = False,
          project: UnusedProject = None, json: JsonOption = False) -> None:
    """Check a token at the server's /api/v1/whoami and store it (~/.config/conveyor/credentials.toml, mode
    0600); the server becomes the default of every verb. An empty token logs in without one (a server with no
    users)."""
    from conveyor.client.credentials import normalize, read_credentials, write_credentials
    from conveyor.client.project import connect

    url = normalize(url)
    if token_stdin or not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    else:
        token = typer.prompt("Token (empty for none)", default="", hide_input=True, show_default=False).strip()
    with connect(url, token=token or None) as remote:
        who = remote.whoami()
    _default, tokens = read_credentials()
    if token:
        tokens[url] = token
    else:
        tokens.pop(url, None)
    path = write_credentials(url, tokens)
    if json:
        emit_json({"server": url, "actor": who.get("actor"), "authenticated": who.get("authenticated"),
                   "credentials": str(path)})
        return
    typer.echo(f"logged in to {url} as {who.get('actor')} (saved in {path})")


def logout(url: Annotated[str | None, typer.Argument(help="The server (default: the one logged in to).")] = None,
           project: UnusedProject = None, json: JsonOption = False) -> None:
    """Forget a server's token (and stop using it as the default)."""
    from conveyor.client.credentials import normalize, read_credentials, write_credentials

    default, tokens = read_credentials()
    target = normalize(url) if url else default
    if target is not None:
        tokens.pop(target, None)
    path = write_credentials(None if default == target else default, tokens)
    if json:
        emit_json({"server": target, "credentials": str(path)})
        return
    typer.echo(f"logged out of {target}" if target else "not logged in")
