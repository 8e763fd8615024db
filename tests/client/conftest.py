"""A real `conveyor server` process on 127.0.0.1 over a real SQLite project, and its twin local project."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.project import Project
from conveyor.registry.models import register_model


def churn_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 12, n).round(2),
                          "plan": rng.choice(["basic", "pro"], n)})
    frame["churn"] = (frame["income"] < 48).astype(int)
    return frame


def seeded_project(root: Path) -> Path:
    """A project with one model (two versions of the same fit) and nothing else."""
    with Project.init(root, name="team") as project:
        frame = churn_frame()
        model = LogisticRegression().fit(frame[["age", "income"]], frame["churn"])
        for _ in range(2):
            register_model(project.stores, model, "churn", input_example=frame[["age", "income"]].head(5))
    return root


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(project: Path, *extra: str, env: dict[str, str] | None = None
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """Start `conveyor server` and wait for /api/v1/health; its output goes to server.log beside the project."""
    port = free_port()
    with (project.parent / f"server-{port}.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "conveyor", "server", "--project", str(project), "--port",
                                    str(port), *extra], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"conveyor server exited: {(project.parent / f'server-{port}.log').read_text()}")
        try:
            if httpx.get(url + "/api/v1/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("conveyor server did not answer /api/v1/health within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """(the project folder, the URL of a `conveyor server` process over it)."""
    root = seeded_project(tmp_path_factory.mktemp("served"))
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}
    process, url = start_server(root, env=env)
    try:
        yield root, url
    finally:
        stop_server(process)


@pytest.fixture(name="churn_frame")
def churn_frame_fixture():
    """``churn_frame(n=200, seed=0)``: a small churn table."""
    return churn_frame


@pytest.fixture(name="seeded_project")
def seeded_project_fixture():
    return seeded_project


@pytest.fixture
def launch() -> Iterator[Callable[..., tuple[str, int]]]:
    """``launch(project, *args)``: a `conveyor server` process (stopped after the test); (its URL, its pid)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(project: Path, *extra: str) -> tuple[str, int]:
        env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}
        process, url = start_server(project, *extra, env=env)
        started.append(process)
        return url, process.pid

    yield start
    for process in started:
        stop_server(process)


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment with a config folder of its own and no server set."""
    env = {k: v for k, v in os.environ.items() if k not in ("CONVEYOR_SERVER", "CONVEYOR_TOKEN")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["HOME"] = str(tmp_path)
    return env
