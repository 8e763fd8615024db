"""Where an MLflow store is and how it is read: validating ``--from``, finding a Python that has MLflow, and streaming
the store's records out of :mod:`conveyor.interop.mlflow.dump_mlflow` run in that Python.

Why a script in MLflow's own Python rather than reading MLflow's SQL schema here: one reader covers every kind of
store MLflow reads (a SQLite/PostgreSQL/MySQL database, a file store folder, a tracking server's URI) and every
schema version MLflow has migrated through, MLflow resolves its own artifact locations (``models:/`` URIs, logged
models of MLflow 3), and no MLflow code is imported into Conveyor's process. Whoever migrates has that Python: it is
the one their training scripts log from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conveyor.core.errors import BadInputError

__all__ = ["find_mlflow_python", "read_store", "tracking_uri"]

_SCRIPT = Path(__file__).with_name("dump_mlflow.py")
_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks")


def tracking_uri(source: str) -> str:
    """The MLflow tracking URI for ``--from`` (a URI, or a file store folder); refused when it cannot be a store."""
    hint = "Pass sqlite:///PATH/mlflow.db, a tracking server's http(s):// URI, or an mlruns folder."
    if source.startswith("sqlite:///"):
        path = Path(source[len("sqlite:///"):])
        if not path.is_file():
            raise BadInputError(f"No MLflow database at {path} (from --from {source}).", field="from", hint=hint)
        return "sqlite:///" + str(path.resolve())
    scheme = source.split("://", 1)[0].split("+", 1)[0].lower() if "://" in source else ""
    if scheme == "file":
        source = source[len("file://"):]
    elif scheme:
        if scheme not in _SCHEMES:
            raise BadInputError(f"Unknown MLflow store {source!r}: scheme {scheme!r}.", field="from", hint=hint)
        return source
    folder = Path(source)
    if not folder.is_dir():
        raise BadInputError(f"No MLflow store at {source!r}: not a URI and not a folder.", field="from", hint=hint)
    if not any(p.name == "meta.yaml" for p in folder.glob("*/meta.yaml")):
        raise BadInputError(f"{folder} is not an MLflow file store (no <experiment>/meta.yaml inside).",
                            field="from", hint=hint)
    return folder.resolve().as_uri()


def _has_mlflow(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import mlflow"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_mlflow_python(explicit: str | None = None) -> str:
    """``explicit`` (``--mlflow-python``), else ``$CONVEYOR_MLFLOW_PYTHON``, else the first of this Python and
    ``python3``/``python`` on PATH that can import mlflow."""
    chosen = explicit or os.environ.get("CONVEYOR_MLFLOW_PYTHON")
    if chosen:
        if not _has_mlflow(chosen):
            raise BadInputError(f"{chosen} cannot import mlflow.", field="mlflow_python",
                                hint="Point --mlflow-python at the Python your MLflow scripts run with.")
        return chosen
    for candidate in (sys.executable, shutil.which("python3"), shutil.which("python")):
        if candidate and _has_mlflow(candidate):
            return candidate
    raise BadInputError("No Python with mlflow installed was found to read the MLflow store.", field="mlflow_python",
                        hint="Pass --mlflow-python PATH (the Python your MLflow scripts run with) or set "
                             "CONVEYOR_MLFLOW_PYTHON.")


def read_store(uri: str, python: str, staging: Path, artifacts: Path | None = None) -> Iterator[dict[str, Any]]:
    """The store's records, as the dump script writes them (experiments, runs, models, versions), streamed."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet",
           "PYTHONPATH": "", "MLFLOW_TRACKING_URI": uri, "MLFLOW_ALLOW_FILE_STORE": "true"}  # reading an old one
    args = [python, "-c", _SCRIPT.read_text(), uri, str(staging)] + ([str(artifacts.resolve())] if artifacts else [])
    ended = False
    with tempfile.TemporaryFile("w+") as stderr, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr,
                                                                   text=True, cwd=staging, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            record = json.loads(line)
            if record["kind"] == "end":
                ended = True
                continue
            yield record
        proc.wait()
        stderr.seek(0)
        errors = stderr.read()
    if proc.returncode != 0 or not ended:
        last = [line for line in errors.strip().splitlines() if line.strip()][-1:] or ["(no message)"]
        raise BadInputError(f"Reading the MLflow store {uri} failed: {last[0]}", field="from",
                            hint="Check --from (and --artifacts) and that this MLflow can open the store.")
