"""Where `conveyor import mlflow` reads from: --from is checked before any MLflow code runs, and the Python that reads
the store must be able to import mlflow."""

from __future__ import annotations

import pytest

from conveyor.core.errors import BadInputError
from conveyor.interop.mlflow.source import find_mlflow_python, tracking_uri


def test_a_database_a_server_and_a_file_store_folder_are_stores(tmp_path):
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"")
    assert tracking_uri(f"sqlite:///{db}") == f"sqlite:///{db}"
    assert tracking_uri("http://mlflow.internal:5000") == "http://mlflow.internal:5000"
    assert tracking_uri("postgresql+psycopg2://u@db/mlflow") == "postgresql+psycopg2://u@db/mlflow"
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    assert tracking_uri(str(tmp_path / "mlruns")) == (tmp_path / "mlruns").as_uri()
    assert tracking_uri((tmp_path / "mlruns").as_uri()) == (tmp_path / "mlruns").as_uri()


@pytest.mark.parametrize(("source", "message"), [
    ("sqlite:///{tmp}/missing.db", "No MLflow database at"),
    ("s3://bucket/mlruns", "Unknown MLflow store 's3://bucket/mlruns': scheme 's3'"),
    ("{tmp}", "is not an MLflow file store"),
    ("{tmp}/absent", "not a URI and not a folder"),
])
def test_what_cannot_be_a_store_is_refused_naming_it(tmp_path, source, message):
    with pytest.raises(BadInputError, match=message) as caught:
        tracking_uri(source.format(tmp=tmp_path))
    assert caught.value.field == "from" and "sqlite:///" in str(caught.value)  # the hint shows what works


def test_a_python_without_mlflow_is_refused(monkeypatch, tmp_path):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'No module named mlflow' >&2\nexit 1\n")
    python.chmod(0o755)
    with pytest.raises(BadInputError, match="cannot import mlflow"):
        find_mlflow_python(str(python))
    monkeypatch.setenv("CONVEYOR_MLFLOW_PYTHON", "/nonexistent/python")
    with pytest.raises(BadInputError, match="/nonexistent/python cannot import mlflow"):
        find_mlflow_python()


def test_the_mlflow_python_is_found_by_flag_or_environment(mlflow_python, monkeypatch):
    assert find_mlflow_python(str(mlflow_python)) == str(mlflow_python)
    monkeypatch.setenv("CONVEYOR_MLFLOW_PYTHON", str(mlflow_python))
    assert find_mlflow_python() == str(mlflow_python)
