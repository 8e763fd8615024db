"""gc and backup/restore with the artifacts on S3 (a moto S3 server on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pandas as pd
import pytest
import yaml

import conveyor as cv
from conveyor.project.operations import restore_project
from conveyor.store.backends import open_artifact_store


@pytest.fixture
def s3(monkeypatch) -> Iterator[str]:
    """A fresh bucket on a moto S3 server; fsspec's s3 URLs point at it."""
    import boto3
    import fsspec.config
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})  # read by every new s3fs
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="conveyor")
    try:
        yield "s3://conveyor"
    finally:
        server.stop()


def test_gc_and_backup_with_artifacts_on_s3(tmp_path, monkeypatch, s3):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.setenv("CONVEYOR_ARTIFACTS", f"{s3}/live")
    root = tmp_path / "proj"
    cv.Project.init(root).close()
    config = yaml.safe_load((root / "conveyor.yaml").read_text())
    config["retention"] = {"datasets": 1, "grace": "0s"}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config))
    with cv.Project.open(root) as project:
        old = project.data.ingest(pd.DataFrame({"x": [1, 2]}), "d")[0]
        new = project.data.ingest(pd.DataFrame({"x": [3, 4, 5]}), "d")[0]
        report = project.operations.gc()
        assert report.artifacts == 1 and report.bytes_freed > 0
        bucket = open_artifact_store(f"{s3}/live")
        assert not bucket.exists(old.artifact) and bucket.exists(new.artifact)
        project.operations.backup(tmp_path / "backup")
    monkeypatch.setenv("CONVEYOR_ARTIFACTS", f"{s3}/restored")
    restore_project(tmp_path / "backup", tmp_path / "restored")
    with cv.Project.open(tmp_path / "restored") as project:
        assert project.stores.artifacts.url == f"{s3}/restored"
        assert len(project.data.load_frame("d")) == 3
        assert [v.version for v in project.stores.datasets.versions("d")] == [new.version]
