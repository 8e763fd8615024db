"""A real project (a trained, promoted model; two dataset versions; monitoring checks with live labels and an alert;
a sweep of tracked runs) served by a real uvicorn on 127.0.0.1 with ``mount_ui``, and a headless Chromium driven by
chromium-driver (Debian's chromium and chromium-driver; scripts/test.sh installs them)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import uvicorn
from sklearn.datasets import load_breast_cancer

import conveyor as cv
from conveyor.core.entities import Sample
from conveyor.server import create_app


def patients(rows: int = 400, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame.sample(rows, random_state=seed).reset_index(drop=True)
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    rng = np.random.default_rng(seed)
    frame = frame.assign(clinic=rng.choice(["north", "south"], size=len(frame)))
    if shift:
        frame["mean_radius"] = frame["mean_radius"] * (1 + shift)
        frame["mean_texture"] = frame["mean_texture"] + 10 * shift
    return frame


@dataclass
class Site:
    url: str
    project: Any
    model: str  # "patients:1"
    dataset: str  # the training version's ref
    artifacts: Path


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-project")
    project = cv.Project.init(root, name="clinic")
    project.configure("train", families=["linear"])
    project.configure("alerts", rules=[{"name": "drift", "signal": "drift.share", "threshold": 0.05}])
    dataset, _ = project.data.ingest(patients(), "patients")
    result = project.training.train(dataset, "target", max_trials=2, budget=60)
    model = result.model_version
    if project.models.aliases(model.name).get("champion") != model.version:
        project.models.promote(model.ref, "champion", override_gates=True, reason="the UI tests' champion")
    shifted, _ = project.data.ingest(patients(shift=0.6, seed=1), "patients")
    for _ in range(2):  # two checks: every over-time chart has two points per series
        project.monitoring.monitor(model.ref, current=shifted.ref)
        time.sleep(1.1)
    # what a check on a served model's window of labelled predictions stores: live accuracy with its 95 % interval
    now = time.time()
    project.stores.monitoring.add_samples([
        Sample(model.ref, series, value, now - 3600 * (3 - hour))
        for hour, (mid, low, high) in enumerate([(0.9, 0.85, 0.94), (0.88, 0.82, 0.92), (0.8, 0.72, 0.86)])
        for series, value in (("live.accuracy", mid), ("live.accuracy_low", low), ("live.accuracy_high", high))])
    for i in range(5):  # a sweep to sort, filter and compare
        with project.runs.start(name=f"sweep-{i}", dataset=dataset.ref, tags={"sweep": "yes"}) as run:
            run.log_params({"depth": i})
            run.log_metrics({"score": 0.5 + i / 10})
            for step in range(4):
                run.log_metric("loss", 1.0 / (step + 1 + i), step=step)
    artifacts = Path(os.environ.get("CONVEYOR_TEST_ARTIFACTS", tmp_path_factory.mktemp("ui-artifacts"))) / "ui"
    artifacts.mkdir(parents=True, exist_ok=True)
    with project, serve_ui(project) as url:
        yield Site(url, project, model.ref, dataset.ref, artifacts)


@contextmanager
def serve_ui(project: Any) -> Iterator[str]:
    """The platform server's app (``create_app``: the API and the pages) served by uvicorn on 127.0.0.1 (a free
    port) in a thread; yields its URL."""
    app = create_app(project)
    # the socket is bound here and handed to uvicorn: a port probed free and closed again could be taken (by the
    # other xdist worker's servers or outgoing connections) before uvicorn bound it
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def browser(site: Site) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    assert binary and driver_path, "chromium and chromium-driver are needed: run scripts/test.sh (apt-installs both)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,2000", "--proxy-server=127.0.0.1:9"):  # loopback goes direct; nothing else
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def serve():
    """:func:`serve_ui`, for tests that serve a project of their own."""
    return serve_ui
