"""Virtual environments holding the real MLflow client, for the MLflow compatibility tests and the importer's tests.

`mlflow_python(3)` returns the python of a venv with the latest `mlflow-skinny` 3.x, scikit-learn and pandas (and
SQLAlchemy with Alembic, which MLflow's SQLite store needs, for the importer's tests);
`mlflow_python(2)` the same with 2.x. Each venv is built once and reused (a marker file records the requirements it
was built from), under `$CONVEYOR_TEST_CACHE`, else `.cache/` in the repository root (ignored by git), else
`~/.cache/conveyor`. Builds are serialised with a file lock, so parallel test processes build a venv once."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS: dict[int, tuple[str, ...]] = {
    3: ("mlflow-skinny>=3,<4", "scikit-learn", "pandas", "sqlalchemy", "alembic"),  # the last two: its SQLite store
    2: ("mlflow-skinny>=2.17,<3", "scikit-learn<1.6", "pandas<2.3", "numpy<2"),
}


def cache_root() -> Path:
    configured = os.environ.get("CONVEYOR_TEST_CACHE")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").is_file():
        return repo / ".cache"
    return Path.home() / ".cache" / "conveyor"


def mlflow_env() -> dict[str, str]:
    """Environment for running the MLflow client: no telemetry, no prompts, no git lookups."""
    return {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
            "GIT_PYTHON_REFRESH": "quiet", "PYTHONPATH": ""}


def mlflow_python(major: int) -> Path:
    """The python of a cached venv holding the MLflow `major`.x client; built on first use."""
    if major not in REQUIREMENTS:
        raise ValueError(f"no MLflow venv recipe for major version {major!r}; known: {sorted(REQUIREMENTS)}")
    requirements = REQUIREMENTS[major]
    folder = cache_root() / f"mlflow{major}-venv"
    python = folder / "bin" / "python"
    marker = folder / ".conveyor-requirements"
    wanted = "\n".join(requirements)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".mlflow{major}-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.exists() and marker.read_text() == wanted:
            return python
        if folder.exists():
            shutil.rmtree(folder)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements],
                              capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"building the MLflow {major}.x venv at {folder} failed:\n{done.stderr[-4000:]}")
        marker.write_text(wanted)
    return python
