"""The same project code on PostgreSQL (CONVEYOR_DB_URL) as on the embedded SQLite default."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_breast_cancer

import conveyor as cv


def test_the_loop_on_postgresql(postgres_db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVEYOR_DB_URL", postgres_db_url)
    frame = load_breast_cancer(as_frame=True).frame
    with cv.Project.init(tmp_path / "pg") as project:
        assert project.stores.url.startswith("postgresql")
        first, _ = project.data.ingest(frame, "cancer")
        assert project.data.ingest(frame.copy(), "cancer")[0].version == first.version
        result = project.training.train(first, "target", max_trials=2, budget=60)
        project.models.promote(result.model_version.ref, "champion")
        loaded = project.models.load("cancer@champion")
        assert loaded.predict(frame.drop(columns="target").head(3)).shape == (3,)
        shifted = frame.assign(**{"mean radius": frame["mean radius"] * 2})
        report = project.monitoring.monitor("cancer@champion", current=shifted)
        assert report.drift.drift is True
        assert project.models.verify() == 2  # register + promote
    assert not (tmp_path / "pg" / ".conveyor" / "conveyor.db").exists()  # nothing went to SQLite


def test_project_without_config_file_uses_the_folder(tmp_path):
    with cv.Project.open(tmp_path) as project:
        project.data.ingest(pd.DataFrame({"a": [1, 2]}), "tiny")
    assert (tmp_path / ".conveyor" / "conveyor.db").exists()
