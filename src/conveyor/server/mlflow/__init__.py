"""The MLflow REST subset that ``conveyor server`` serves under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``
(plus the proxied artifact routes under ``/api/2.0/mlflow-artifacts/``), so unmodified MLflow client code logs
into Conveyor: ``build_router(requires=None)`` for the app, ``actions()`` for the role check (endpoint -> action of
``conveyor.security.roles.ACTIONS``). docs/mlflow.md lists what is supported."""

from conveyor.server.mlflow.endpoints import PREFIXES, actions, build_router

__all__ = ["PREFIXES", "actions", "build_router"]
