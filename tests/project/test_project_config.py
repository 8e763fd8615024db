"""A project reads conveyor.yaml through the typed configuration: checked when it opens and when it changes."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.core.config import ConfigDeprecationWarning
from conveyor.core.errors import BadInputError, NotFoundError


def test_configure_checks_before_it_writes(tmp_path):
    with cv.Project.init(tmp_path) as project:
        before = (tmp_path / "conveyor.yaml").read_text()
        with pytest.raises(BadInputError) as caught:
            project.configure("monitor", window="large")
        assert caught.value.field == "monitor.window"
        assert "monitor.window must be a whole number of at least 1, got 'large'" in str(caught.value)
        with pytest.raises(BadInputError, match=r"Did you mean retrain\.min_improvement"):
            project.configure("retrain", min_improvment=0.1)
        assert (tmp_path / "conveyor.yaml").read_text() == before and project.config.monitor.window == 1000
        project.configure("monitor", window=500)
        assert project.config.monitor.window == 500
    written = yaml.safe_load((tmp_path / "conveyor.yaml").read_text())
    assert written["monitor"] == {"window": 500} and written["train"]["budget"] == "60s"  # as the user wrote it
    with cv.Project.open(tmp_path) as again:
        assert again.config.monitor.window == 500


def test_opening_reports_the_first_mistake_before_any_work(tmp_path):
    cv.Project.init(tmp_path).close()
    (tmp_path / "conveyor.yaml").write_text("name: p\ndata: {on_error: drop}\n")
    with pytest.raises(BadInputError, match=r"data\.on_error must be one of reject, quarantine, warn, got 'drop'"):
        cv.Project.open(tmp_path)
    (tmp_path / "conveyor.yaml").write_text("name: p\ndata: [target]\n")
    with pytest.raises(BadInputError, match=r"^data must be a mapping of settings"):
        cv.Project.open(tmp_path)
    (tmp_path / "conveyor.yaml").write_text("name: p\ndata: {target: [\n")
    with pytest.raises(BadInputError, match="is not valid YAML"):
        cv.Project.open(tmp_path)


def test_an_old_key_set_through_configure_warns_and_is_read_at_its_new_home(tmp_path):
    with cv.Project.init(tmp_path) as project:
        with pytest.warns(ConfigDeprecationWarning, match="policy.window is deprecated; write monitor.window"):
            project.configure("policy", window=42)
        assert project.config.monitor.window == 42


def test_the_executor_comes_from_the_file_unless_the_environment_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVEYOR_EXECUTOR", raising=False)
    with cv.Project.init(tmp_path) as project:
        assert project.settings.executor == "inline"
        project.configure("train", executor="threads")
        assert project.settings.executor == "threads"
        with pytest.raises(NotFoundError, match="Unknown executor 'rey'") as caught:
            project.configure("train", executor="rey")
        assert caught.value.field == "train.executor" and project.config.train.executor == "threads"
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "inline")
    with cv.Project.open(tmp_path) as project:
        assert project.settings.executor == "inline"
    monkeypatch.setenv("CONVEYOR_EXECUTOR", "rey")
    with pytest.raises(NotFoundError) as caught:
        cv.Project.open(tmp_path)
    assert caught.value.field == "CONVEYOR_EXECUTOR"


def test_the_serve_section_reaches_the_serving_app(tmp_path):
    from conveyor.serve import running_server

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "y": [0, 0, 1, 1]})
    with cv.Project.init(tmp_path) as project:
        project.configure("serve", max_rows=3)
        data, _ = project.data.ingest(frame, "t")
        with project.runs.start(dataset=data) as run:
            version = run.log_model(LogisticRegression().fit(frame[["a"]], frame["y"]), "t", input_example=frame[["a"]])
        with running_server(cv.serving_app(project, version.ref, log_predictions=False)) as url:
            small = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"a": 1.0}] * 3}, timeout=30)
            large = httpx.post(f"{url}/invocations", json={"dataframe_records": [{"a": 1.0}] * 4}, timeout=30)
    assert small.status_code == 200 and large.status_code == 413  # serve.max_rows applied
