"""A run's web page reads only what it shows: the model versions that run produced (by the registry's query by
run, not every version) and a bounded chart of a long metric history."""

from __future__ import annotations

import html
import json
import re

import httpx
import pandas as pd
from sklearn.linear_model import LogisticRegression

from conveyor.core.entities import Metric
from conveyor.project import Project
from conveyor.registry.models import register_model
from conveyor.server.ui.runs import POINTS


def test_a_run_page_shows_its_own_models_and_a_bounded_history(project: Project, server: str) -> None:
    frame = pd.DataFrame({"age": [20, 30, 40, 50, 60, 70], "income": [40.0, 60, 45, 55, 42, 58],
                          "churn": [1, 0, 1, 0, 1, 0]})
    model = LogisticRegression().fit(frame[["age", "income"]], frame["churn"])
    register_model(project.stores, model, "elsewhere", input_example=frame[["age", "income"]].head(3))
    with project.runs.start(name="long") as run:
        project.stores.runs.log_metrics(run.id, [Metric("loss", 1 / (step + 1), step) for step in range(3 * POINTS)])
        produced = run.log_model(model, "paged", input_example=frame[["age", "income"]].head(3))
    page = httpx.get(f"{server}/runs/{run.id}", timeout=30).text
    assert re.findall(r'model <a href="/models/[^"]+">([^<]+)</a>', page) == [produced.ref]
    specs = [json.loads(html.unescape(s)) for s in re.findall(r'data-spec="([^"]*)"', page)]
    (loss,) = [s for s in specs if s["title"] == "loss by step"]
    assert len(loss["x"]) <= POINTS + 1 and loss["x"][0] == 0 and loss["x"][-1] == 3 * POINTS - 1
