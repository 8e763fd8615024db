"""``conveyor serve``: build the app in this process, or in each of N worker processes.

With ``--workers N`` uvicorn's supervisor forks N processes that share the listening socket; each builds its own
app (and so loads the model once) through :func:`worker_app`, from the options passed in an environment variable.
Options left unset come from the serve: section of conveyor.yaml (``Project.serving_app`` merges them).
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.cli.output import console, emit_json, open_project
from conveyor.core.tls import TlsOptions, scheme_of

if TYPE_CHECKING:
    from fastapi import FastAPI

_ENV = "CONVEYOR_SERVE_WORKER"
ENDPOINTS = ["/invocations", "/v2/models/{name}/infer", "/explain", "/feedback", "/health", "/metrics"]


TOKEN_ENV = "CONVEYOR_SERVE_TOKEN"


def serve_token(token_file: Path | None, on_command_line: str | None = None) -> str | None:
    """The bearer token `conveyor serve` requires: from ``--token-file`` or CONVEYOR_SERVE_TOKEN, never from the
    command line (every user sees it in ``ps``). A set but empty token is refused: it must not turn auth off."""
    from conveyor.core.errors import BadInputError

    if on_command_line is not None:
        raise BadInputError("--token puts the secret on the command line, where every user of the machine sees it "
                            "(ps, /proc).", field="--token",
                            hint=f"Put it in a file and pass --token-file FILE, or set {TOKEN_ENV}.")
    if token_file is not None:
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise BadInputError(f"Cannot read the token file {token_file}: {exc.strerror or exc}.",
                                field="--token-file", hint="Pass a readable file holding the token.") from None
        if not token:
            raise BadInputError(f"The token file {token_file} is empty; serving without a token is not what it "
                                "asks for.", field="--token-file", hint="Write the token into the file.")
        return token
    if TOKEN_ENV in os.environ:
        token = os.environ[TOKEN_ENV].strip()
        if not token:
            raise BadInputError(f"{TOKEN_ENV} is set but empty; that would silently turn authentication off.",
                                field=TOKEN_ENV, hint=f"Set it to the token, or unset {TOKEN_ENV} to serve "
                                                      "without one.")
        return token
    return None


def worker_app() -> FastAPI:
    spec = jsonlib.loads(os.environ[_ENV])
    from conveyor.serve.runner import tune_gc
    from conveyor.store.migrate import refuse_schema_changes  # a serving replica: never migrates the store

    refuse_schema_changes()
    proj = open_project(Path(spec["project"]) if spec["project"] else None)
    app = proj.serving_app(spec["model"], **spec["options"])
    tune_gc()
    return app


def run_server(model: str, *, host: str, port: int, workers: int, project: Path | None, options: dict[str, Any],
               json: bool = False, tls: TlsOptions | None = None, environment: str | None = None) -> None:
    from conveyor.client.project import RemoteProject
    from conveyor.project._options import serving_target
    from conveyor.serve.runner import serve_forever, serve_workers
    from conveyor.store.migrate import refuse_schema_changes  # a serving replica: never migrates the store

    refuse_schema_changes()
    options = {k: v for k, v in options.items() if v is not None}
    with open_project(project) as proj:
        remote = isinstance(proj, RemoteProject)
        if remote:  # the server's registry: an environment's name is its alias there
            model = f"{model}@{environment}" if environment else model
        else:
            model, env_options = serving_target(proj, model, environment)  # --env: its alias and serve settings
            options = {**env_options, **options}
        version = proj.models.get(model).ref
        def announce(bound: int) -> None:  # the port bound: the free one chosen for --port 0
            url = f"{scheme_of(tls)}://{host}:{bound}"
            if json:
                emit_json({"model_version": version, "url": url, "workers": workers, "endpoints": ENDPOINTS})
                sys.stdout.flush()  # a supervisor reading the pipe sees it before the first request
            else:
                console.print(f"serving {version} on {url}  (POST /invocations, /v2/models/..., /explain, "
                              f"/feedback, GET /health, /metrics)" + (f", {workers} workers" if workers > 1 else ""),
                              highlight=False)

        with proj.monitoring.resource_sampler(f"serve:{version}"):  # CPU/memory/disk/GPU of server and workers
            if workers == 1:
                app = proj.serving_app(model, **options)
                serve_forever(app, host, port, tls=tls, on_listening=announce)
                return
            os.environ[_ENV] = jsonlib.dumps({"project": None if remote else str(proj.root), "model": model,
                                              "options": options})
            serve_workers("conveyor.cli.serving:worker_app", host, port, workers, tls=tls, on_listening=announce)
