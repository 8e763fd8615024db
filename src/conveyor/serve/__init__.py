"""L3: serve a registered model over HTTP.

``create_app(stores, "churn@champion")`` builds a FastAPI app that answers MLflow's ``POST /invocations`` (JSON in
the four MLflow scoring formats, or CSV) and the Open Inference Protocol V2 REST API (``/v2/...``), checks every
request against the model signature (bad input is a 4xx naming the field, never a 500), logs every prediction
with an id to the metadata store, and takes ground truth for those ids on ``POST /feedback``.
``serve_forever`` runs it in the foreground; ``running_server`` runs it in a background thread for tests and demos.
"""

from conveyor.serve.app import create_app
from conveyor.serve.runner import running_server, serve_forever

__all__ = ["create_app", "running_server", "serve_forever"]
