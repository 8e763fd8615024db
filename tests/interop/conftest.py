"""The real MLflow client for the interop tests: a venv with mlflow-skinny (+ SQLAlchemy and Alembic for its SQLite
store) and scikit-learn (``conveyor.testing.mlflow_env``, built once), and an MLflow store it logged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conveyor.testing.mlflow_env import mlflow_env
from conveyor.testing.mlflow_env import mlflow_python as shared_mlflow_python

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    return shared_mlflow_python(3)


@pytest.fixture(scope="session")
def mlflow_store(mlflow_python: Path, tmp_path_factory) -> dict:
    """An MLflow SQLite store (``mlflow.db``, artifacts under ``mlruns``) logged by the real client; what it logged
    (``runs``: id -> name, ``deleted``, ``model_runs``), its ``uri`` and ``folder``."""
    folder = tmp_path_factory.mktemp("mlflow-store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    done = subprocess.run([str(mlflow_python), str(HERE / "mlflow_fixture.py"), uri], cwd=folder,
                          capture_output=True, text=True, env=mlflow_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "uri": uri, "folder": folder}


@pytest.fixture(scope="session")
def run_in_mlflow(mlflow_python: Path):
    """``run(code, *args, cwd=...)``: run Python ``code`` in the MLflow venv; its stdout."""

    def run(code: str, *args: str, cwd: Path) -> str:
        done = subprocess.run([str(mlflow_python), "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                              env=mlflow_env(), timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    return run
