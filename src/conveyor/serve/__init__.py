"""L3: serve a registered model over HTTP.

``create_app(stores, "churn@champion")`` builds a FastAPI app that answers MLflow's ``POST /invocations`` (JSON in
the four MLflow scoring formats, or CSV) and the Open Inference Protocol V2 REST API (``/v2/...``), checks every
request against the model signature (bad input is a 4xx naming the field, never a 500), logs every prediction
with an id to the metadata store, and takes ground truth for those ids on ``POST /feedback``.
``serve_forever`` runs it in the foreground; ``running_server`` runs it in a background thread for tests and demos.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["create_app", "running_server", "serve_forever"]
_HOMES = {"create_app": "conveyor.serve.app", "running_server": "conveyor.serve.runner",
          "serve_forever": "conveyor.serve.runner"}


def __getattr__(name: str) -> Any:
    """The names load on first use, so `conveyor server` can use the runner without the scoring stack."""
    if name not in _HOMES:
        raise AttributeError(f"module 'conveyor.serve' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
