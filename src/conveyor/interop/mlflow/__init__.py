"""MLflow compatibility: the filter-string grammar (``filters``), the importer of an MLflow store (``importer``).

The REST routes MLflow clients log through live with the server (``conveyor.server.mlflow``); the client venvs the
tests run are built by ``conveyor.testing.mlflow_env``."""
