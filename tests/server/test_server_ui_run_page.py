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


def test_a_run_with_100k_steps_charts_a_bounded_series_with_its_ends_and_extremes(project: Project,
                                                                                  server: str) -> None:
    steps = 100_000
    values = [1.0 / (step + 1) + (step % 97) / 1e4 for step in range(steps)]
    values[31_337], values[77_777] = -3.0, 42.0  # a spike each way, far from the ends
    with project.runs.start(name="very long") as run:
        project.stores.runs.log_metrics(run.id, [Metric("loss", v, step) for step, v in enumerate(values)])
    page = httpx.get(f"{server}/runs/{run.id}", timeout=60).text
    specs = [json.loads(html.unescape(s)) for s in re.findall(r'data-spec="([^"]*)"', page)]
    (loss,) = [s for s in specs if s["title"] == "loss by step"]
    assert len(loss["x"]) <= POINTS
    assert loss["x"][0] == 0 and loss["x"][-1] == steps - 1
    drawn = dict(zip(loss["x"], loss["series"][0]["values"], strict=True))
    assert drawn[31_337] == -3.0 and drawn[77_777] == 42.0
    # the table shows the run's latest values (kept per key as they are logged), not a walk over the history
    assert project.runs.get(run.id).metrics["loss"] == values[-1]
    # the endpoint: a bounded series in one answer, or the history a page at a time
    api = f"{server}/api/v1/runs/{run.id}/metrics/loss"
    series = httpx.get(api, params={"points": 500}, timeout=60).json()["items"]
    assert len(series) <= 500 and series[0]["step"] == 0 and series[-1]["step"] == steps - 1
    assert {-3.0, 42.0} <= {m["value"] for m in series}
    second = httpx.get(api, params={"limit": 3, "cursor": httpx.get(api, params={"limit": 3}).json()["next"]}).json()
    assert [m["step"] for m in second["items"]] == [3, 4, 5]
    assert httpx.get(api, params={"points": 2}).status_code == 422
