"""The MLflow REST subset that ``conveyor server`` serves under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``
(plus the proxied artifact routes under ``/api/2.0/mlflow-artifacts/``), so unmodified MLflow client code logs
into Conveyor: ``build_router(requires=None)`` for the app, ``actions()`` for the role check (endpoint -> action of
``conveyor.security.roles.ACTIONS``). docs/mlflow.md lists what is supported."""

from conveyor.server.mlflow.endpoints import PREFIXES, actions, build_router

#: "METHOD /path" (below the MLflow prefix) -> the action of conveyor.security.roles.ACTIONS it needs
ENDPOINT_ACTIONS: dict[str, str] = actions()

__all__ = ["ENDPOINT_ACTIONS", "PREFIXES", "actions", "build_router"]
