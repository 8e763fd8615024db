"""gc and backup/restore with the artifacts on S3 (the session's moto S3 server, a subprocess on 127.0.0.1)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import conveyor as cv
from conveyor.project.operations import restore_project
from conveyor.store.backends import open_artifact_store


@pytest.fixture
def bucket(s3_env) -> str:
    """A fresh bucket on the session's S3 server (moto's, a subprocess on 127.0.0.1), as an s3:// URL."""
    return f"s3://{s3_env.bucket()}"


def test_gc_and_backup_with_artifacts_on_s3(tmp_path, monkeypatch, bucket):
    monkeypatch.delenv("CONVEYOR_DB_URL", raising=False)
    monkeypatch.setenv("CONVEYOR_ARTIFACTS", f"{bucket}/live")
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
        live = open_artifact_store(f"{bucket}/live")
        assert not live.exists(old.artifact) and live.exists(new.artifact)
        project.operations.backup(tmp_path / "backup")
    monkeypatch.setenv("CONVEYOR_ARTIFACTS", f"{bucket}/restored")
    restore_project(tmp_path / "backup", tmp_path / "restored")
    with cv.Project.open(tmp_path / "restored") as project:
        assert project.stores.artifacts.url == f"{bucket}/restored"
        assert project.stores.artifacts.url.startswith("s3://")
        assert open_artifact_store(f"{bucket}/restored").exists(new.artifact)
        assert len(project.data.load_frame("d")) == 3
        assert [v.version for v in project.stores.datasets.versions("d")] == [new.version]
