"""`conveyor serve MODEL@ALIAS` against a server (CONVEYOR_SERVER): the model comes from the server's registry,
answers what the same version answers locally, and the serving process follows the alias when it moves there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conveyor.client import connect
from conveyor.project import Project


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen[str], deadline_s: float = 60) -> dict:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("conveyor serve exited")
        try:
            answer = httpx.get(url + "/health", timeout=2)
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("conveyor serve did not answer /health")


def test_serve_pulls_the_model_from_the_server_and_follows_its_alias(served: tuple[Path, str], tmp_path: Path,
                                                                     user_env, churn_frame) -> None:
    root, url = served
    rows = churn_frame(n=6, seed=9)[["age", "income"]]
    with connect(url) as remote:
        remote.models.promote("churn:1", "champion")
    with Project.open(root) as local:
        expected = [int(p) for p in local.models.load("churn:1").predict(rows)]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "conveyor", "serve", "churn@champion", "--port",
                                    str(port)], env={**user_env, "CONVEYOR_SERVER": url}, cwd=tmp_path,
                                   stdout=subprocess.DEVNULL, stderr=out, text=True)
    serving = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(serving, process)["model_version"] == "churn:1"
        answer = httpx.post(serving + "/invocations", json={"dataframe_split": {
            "columns": list(rows.columns), "data": rows.values.tolist()}}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Model-Version"] == "churn:1"
        assert [int(p) for p in answer.json()["predictions"]] == expected

        with connect(url) as remote:
            remote.models.promote("churn:2", "champion", reason="the newer fit")
        deadline = time.monotonic() + 30
        while httpx.get(serving + "/health", timeout=5).json()["model_version"] != "churn:2":
            assert time.monotonic() < deadline, "the served alias did not follow the server's promotion"
            time.sleep(0.2)
        moved = httpx.post(serving + "/invocations", json={"dataframe_split": {
            "columns": list(rows.columns), "data": rows.values.tolist()}}, timeout=30)
        assert moved.headers["X-Model-Version"] == "churn:2"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    stderr = log.read_text()
    assert f"using the server at {url} (CONVEYOR_SERVER)" in stderr
    assert not (tmp_path / ".conveyor").exists()  # nothing written beside the user
    assert "CONVEYOR_SERVER" not in os.environ  # the test's own process stays local
