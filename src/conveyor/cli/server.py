"""``conveyor server``: the team's platform server over one project (REST API under /api/v1).

With ``--workers N`` uvicorn forks N processes sharing the socket; each opens the project and builds its app
through :func:`worker_app`, from the options passed in an environment variable."""

from __future__ import annotations

import json as jsonlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from conveyor.cli.output import JsonOption, ProjectOption, console, emit_json, open_project
from conveyor.cli.tls import TlsCertOption, TlsKeyOption

if TYPE_CHECKING:
    from fastapi import FastAPI

_ENV = "CONVEYOR_SERVER_WORKER"


def _app(project_dir: str | None, max_body: int | None, max_upload: int | None) -> FastAPI:
    from conveyor.server import create_app
    from conveyor.server.limits import Limits
    from conveyor.store.migrate import refuse_schema_changes  # a platform process: never migrates the store

    refuse_schema_changes()
    proj = open_project(Path(project_dir) if project_dir else None, remote=False, authenticate=False)
    limits = {k: v for k, v in (("max_body", max_body), ("max_upload", max_upload)) if v}
    return create_app(proj, limits=Limits(**limits))


def worker_app() -> FastAPI:
    spec = jsonlib.loads(os.environ[_ENV])
    return _app(spec["project"], spec["max_body"], spec["max_upload"])


def refuse_open_bind(host: str, proj: object) -> None:
    """A server reachable from other machines needs authentication: refuse a non-loopback bind with no users."""
    import ipaddress

    from conveyor.core.errors import BadInputError

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not proj.identities.authentication_on():  # type: ignore[attr-defined]  # bootstraps
        raise BadInputError(f"Refusing to listen on {host}: this project has no users, so anyone who can reach the "
                            "server could use it.", field="host",
                            hint="Add the first admin (`conveyor users add NAME --role admin`, or mount "
                                 "CONVEYOR_BOOTSTRAP_TOKEN_FILE), or listen on 127.0.0.1.")


def server(project: ProjectOption = None,
           host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine "
                                                            "only).")] = "127.0.0.1",
           port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8765,
           workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
           max_body: Annotated[int | None, typer.Option("--max-body", min=1, help="Largest request body in bytes "
                                                        "(an upload chunk included); larger ones get 413.")] = None,
           max_upload: Annotated[int | None, typer.Option("--max-upload", min=1, help="Largest upload in bytes "
                                                          "(default 10 GiB); larger ones get 413.")] = None,
           tls_cert: TlsCertOption = None,
           tls_key: TlsKeyOption = None,
           json: JsonOption = False) -> None:
    """Run the platform server: every verb's REST API under /api/v1 for a team's CLIs and Python APIs."""
    from conveyor.core.dependencies import require

    for module in ("fastapi", "uvicorn"):
        require(module, "server")  # a core install is told which extra to add
    from conveyor.core.tls import scheme_of, tls_options
    from conveyor.serve.runner import serve_forever, serve_workers
    from conveyor.store.migrate import refuse_schema_changes  # a platform process: never migrates the store

    refuse_schema_changes()
    tls = tls_options(tls_cert, tls_key)
    # a missing project or a bad conveyor.yaml is reported here
    with open_project(project, remote=False, authenticate=False) as proj:
        root = str(proj.root)
        refuse_open_bind(host, proj)

    def announce(bound: int) -> None:  # the port bound: the free one chosen for --port 0
        url = f"{scheme_of(tls)}://{host}:{bound}"
        if json:
            emit_json({"url": url, "api": f"{url}/api/v1", "project": root, "workers": workers})
            sys.stdout.flush()
        else:
            console.print(f"conveyor server for {root} on {url}  (API {url}/api/v1, docs {url}/api/v1/docs)"
                          + (f", {workers} workers" if workers > 1 else ""), highlight=False)

    if workers == 1:
        app = _app(root, max_body, max_upload)
        serve_forever(app, host, port, tls=tls, on_listening=announce)
        return
    os.environ[_ENV] = jsonlib.dumps({"project": root, "max_body": max_body, "max_upload": max_upload})
    serve_workers("conveyor.cli.server:worker_app", host, port, workers, tls=tls, on_listening=announce)
