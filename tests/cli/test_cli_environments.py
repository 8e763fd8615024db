"""`conveyor init --environments`, `models promote --to`, `models requests|approve|reject` and `serve --env` as
users run them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.cli.main import main
from conveyor.project import _options
from conveyor.registry.models import register_model
from conveyor.testing.processes import start_server


def conveyor(*args: str, cwd, code: int = 0, user: str = "tester") -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "CONVEYOR_USER": user})
    assert done.returncode == code, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return done


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    conveyor("init", str(root), "--environments", cwd=tmp_path)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    with cv.Project.open(root) as proj:
        for score in (0.9, 0.92):
            register_model(proj.stores, model, "churn", input_example=X.head(), metrics={"roc_auc": score},
                           meta={"metric": "roc_auc"})
    return root


def test_init_writes_the_default_environments_in_order(project):
    config = yaml.safe_load((project / "conveyor.yaml").read_text())
    assert list(config["environments"]) == ["dev", "staging", "prod"]
    assert config["environments"]["prod"] == {"approval": True}


def test_promote_to_follows_the_order_and_skips_approval_without_users(project):
    refused = conveyor("models", "promote", "churn:1", "--to", "prod", cwd=project, code=1)
    assert "churn:1 has not been in 'staging'" in refused.stderr
    for env in ("dev", "staging", "prod"):
        moved = json.loads(conveyor("models", "promote", "churn:1", "--to", env, "--json", cwd=project).stdout)
        assert (moved["alias"], moved["version"]) == (env, 1)
    alias = conveyor("models", "promote", "churn:2", "--alias", "prod", cwd=project, code=2)
    assert "'prod' is an environment: use --to prod" in alias.stderr
    audit = json.loads(conveyor("models", "audit", "--json", cwd=project).stdout)["entries"]
    assert audit[-1]["subject"] == "churn@prod" and audit[-1]["details"]["approval"] == "approval skipped: no users"
    shown = json.loads(conveyor("models", "show", "churn@champion", "--json", cwd=project).stdout)
    assert shown["model_version"] == "churn:1" and shown["aliases"] == ["dev", "prod", "staging"]


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_with_authentication_promote_answers_a_pending_request(project, capsys, monkeypatch):
    monkeypatch.setattr(_options, "authentication_on", lambda _project: True)
    monkeypatch.setenv("CONVEYOR_USER", "ci-bot")
    where = ("--project", str(project))
    for env in ("dev", "staging"):
        assert _cli(capsys, "models", "promote", "churn:2", "--to", env, *where)[0] == 0
    code, out, _ = _cli(capsys, "models", "promote", "churn:2", "--to", "prod", "--json", *where)
    answer = json.loads(out)
    assert code == 0 and answer["status"] == "pending_approval" and answer["requester"] == "ci-bot"
    request = answer["request"]
    code, out, _ = _cli(capsys, "models", "requests", "--json", *where)
    assert [r["request"] for r in json.loads(out)] == [request]
    code, _, err = _cli(capsys, "models", "approve", request, *where)
    assert code == 2 and "ci-bot asked for request" in err and "cannot approve it" in err
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    code, out, _ = _cli(capsys, "models", "approve", request, "--json", *where)
    assert code == 0 and json.loads(out) == {"model": "churn", "alias": "prod", "version": 2, "previous": None}
    code, out, _ = _cli(capsys, "models", "requests", "--all", "--json", *where)
    assert [(r["status"], r["decided_by"]) for r in json.loads(out)] == [("approved", "alice")]


@pytest.mark.slow
def test_serve_env_follows_the_environment_with_its_settings(project):
    config = yaml.safe_load((project / "conveyor.yaml").read_text())
    config["environments"]["staging"] = {"serve": {"max_rows": 3}}
    (project / "conveyor.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    conveyor("models", "promote", "churn:1", "--to", "dev", cwd=project)
    conveyor("models", "promote", "churn:1", "--to", "staging", cwd=project)
    conveyor("models", "promote", "churn:2", "--to", "dev", cwd=project)
    bad = conveyor("serve", "churn", "--env", "stagin", "--project", str(project), cwd=project, code=2)
    assert "Unknown environment 'stagin'" in bad.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = start_server("churn", "--env", "staging", "--port", str(port), "--project", str(project), "--no-log")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/health").json()["model_version"] == "churn:1"  # staging's, not dev's newest
            rows = [{"a": 0.1, "b": 0.2}] * 4
            assert client.post("/invocations", json={"dataframe_records": rows[:3]}).status_code == 200
            assert client.post("/invocations", json={"dataframe_records": rows}).status_code == 413
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.communicate(timeout=60)
