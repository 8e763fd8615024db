"""The real MLflow client for the interop tests: a venv with mlflow-skinny (+ SQLAlchemy and Alembic for its SQLite
store) and scikit-learn, built once under the repository's ``.cache/mlflow3``, and an MLflow store it logged."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("mlflow-skinny>=3,<4", "scikit-learn", "pandas", "sqlalchemy", "alembic")
HERE = Path(__file__).parent


def _build_venv() -> Path:
    folder = REPO / ".cache" / "mlflow3"
    python = folder / "bin" / "python"
    marker = folder / ".conveyor-requirements"
    wanted = "\n".join(REQUIREMENTS)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".mlflow3.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.exists() and marker.read_text() == wanted:
            return python
        if folder.exists():
            shutil.rmtree(folder)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True,
                       capture_output=True)
        marker.write_text(wanted)
    return python


def mlflow_env() -> dict[str, str]:
    return {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet",
            "PYTHONPATH": ""}


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    return _build_venv()


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
