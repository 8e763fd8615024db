"""A real project (SQLite, local artifacts) with datasets, runs and a registered model, served by a real uvicorn
server on 127.0.0.1 for the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.core.entities import Metric, Run
from conveyor.project import Project
from conveyor.registry.models import register_model
from conveyor.serve import running_server
from conveyor.server import create_app

RUNS = 12


def churn_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 12, n).round(2),
                          "plan": rng.choice(["basic", "pro"], n)})
    frame["churn"] = (frame["income"] < 48).astype(int)
    return frame


def add_runs(project: Project, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        run = project.stores.runs.create(Run(f"run{i:04d}" + "0" * 24, f"run-{i}", started_at=1000.0 + i,
                                             dataset="churn@latest"))
        project.stores.runs.log_params(run.id, {"i": i})
        project.stores.runs.log_metrics(run.id, [Metric("score", i / 100), Metric("score", i / 50, step=1)])
        project.stores.runs.end(run.id, "finished")


def filled_project(root: Path) -> Project:
    project = Project.init(root, name="platform")
    project.data.ingest(churn_frame(), "churn")
    project.data.ingest(churn_frame(seed=1), "churn")
    frame = churn_frame()
    model = LogisticRegression().fit(frame[["age", "income"]], frame["churn"])
    register_model(project.stores, model, "churn", input_example=frame[["age", "income"]].head(5))
    register_model(project.stores, model, "churn", input_example=frame[["age", "income"]].head(5))
    project.models.promote("churn:1", "champion")
    add_runs(project, RUNS)
    return project


@pytest.fixture(name="add_runs")
def add_runs_fixture():
    """``add_runs(project, count, start)``: finished runs with a param and a two-step metric."""
    return add_runs


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    opened = filled_project(tmp_path_factory.mktemp("platform"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def server(project: Project) -> Iterator[str]:
    with running_server(create_app(project)) as url:
        yield url
