"""``conveyor serve``: build the app in this process, or in each of N worker processes.

With ``--workers N`` uvicorn's supervisor forks N processes that share the listening socket; each builds its own
app (and so loads the model once) through :func:`worker_app`, from the settings passed in an environment variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.cli.output import console, open_project

if TYPE_CHECKING:
    from fastapi import FastAPI

_ENV = "CONVEYOR_SERVE_WORKER"


def _options(options: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """CLI values first, then the project's ``serve:`` section, then the defaults."""
    merged = {k: v for k, v in (settings or {}).items()
              if k in ("max_batch_size", "max_wait_ms", "reload_interval", "max_rows", "max_body_bytes")}
    merged.update({k: v for k, v in options.items() if v is not None})
    return merged


def worker_app() -> FastAPI:
    spec = json.loads(os.environ[_ENV])
    from conveyor.serve.runner import tune_gc

    proj = open_project(Path(spec["project"]) if spec["project"] else None)
    app = proj.serving_app(spec["model"], **spec["options"])
    tune_gc()
    return app


def run_server(model: str, *, host: str, port: int, workers: int, project: Path | None,
               options: dict[str, Any]) -> None:
    from conveyor.serve.runner import serve_forever, serve_workers

    with open_project(project) as proj:
        merged = _options(options, proj.config.get("serve") or {})
        version = proj.model(model).ref
        banner = (f"serving {version} on http://{host}:{port}  (POST /invocations, /v2/models/..., /explain, "
                  f"/feedback, GET /health, /metrics)" + (f", {workers} workers" if workers > 1 else ""))
        with proj.resource_sampler(f"serve:{version}"):  # monitor: CPU/memory/disk/GPU of the server and workers
            if workers == 1:
                app = proj.serving_app(model, **merged)
                console.print(banner, highlight=False)
                serve_forever(app, host, port)
                return
            os.environ[_ENV] = json.dumps({"project": str(proj.root), "model": model, "options": merged})
            console.print(banner, highlight=False)
            serve_workers("conveyor.cli.serving:worker_app", host, port, workers)
