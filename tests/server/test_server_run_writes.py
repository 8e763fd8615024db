"""A client's tracked run written through /api/v1/runs, and a model registered from it: what only the server may
say (gate results, signatures) is never taken from the client, and the server's gates govern its promotion."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from conveyor.client import connect
from conveyor.core.errors import CheckFailedError
from conveyor.project import Project


def churn_frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 12, n).round(2)})
    frame["churn"] = (frame["income"] < 48).astype(int)
    return frame


def churn_model(frame: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(frame[["age", "income"]], frame["churn"])


def test_a_logged_model_cannot_claim_passed_gates(project: Project, server: str) -> None:
    frame = churn_frame()
    with connect(server) as remote, remote.runs.start(name="claims") as run:
        run.log_metric("roc_auc", 0.99)
        version = run.log_model(churn_model(frame), "claimed", input_example=frame[["age", "income"]].head(3),
                                meta={"gates": {"passed": True, "rules": []}, "owner": "ana"})
    stored = project.models.get(version.ref)
    assert stored.meta.get("owner") == "ana" and "gates" not in stored.meta  # no gates configured: none recorded
    assert stored.metrics == {"roc_auc": 0.99} and stored.run_id == run.id


def test_the_servers_gates_govern_a_logged_model(project: Project, server: str) -> None:
    frame = churn_frame()
    project.configure("gates", min={"roc_auc": 0.5})
    try:
        with connect(server) as remote:
            with remote.runs.start(name="gated") as run:
                run.log_metric("roc_auc", 0.99)
                version = run.log_model(churn_model(frame), "gated", input_example=frame[["age", "income"]].head(3),
                                        meta={"gates": {"passed": True, "rules": []}})
            assert [r["rule"] for r in project.models.get(version.ref).meta["gates"]["rules"]] \
                == ["trained_on_server"]
            with pytest.raises(CheckFailedError, match="trained_on_server"):
                remote.models.promote(version.ref, "champion")
            change = remote.models.promote(version.ref, "champion", reason="reviewed offline", override_gates=True)
            assert change.version == version.version
    finally:
        project.configure("gates", min=None)


def test_an_artifact_too_large_for_one_request_is_refused_whole(project: Project, server: str) -> None:
    with connect(server) as remote, remote.runs.start(name="big") as run:
        where = urlsplit(server)
        with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
            conn.sendall(f"PUT /api/v1/runs/{run.id}/artifacts/big.bin HTTP/1.1\r\nHost: {where.netloc}\r\n"
                         f"Content-Type: application/octet-stream\r\nContent-Length: {10 * 1024**3}\r\n\r\n"
                         .encode() + b"x" * 1024)
            answer = b""
            while not answer.rstrip().endswith(b"}"):  # the whole JSON body, however the bytes arrive
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"413"
    assert json.loads(body)["error"] == "payload_too_large"
    assert "big.bin" not in project.runs.get(run.id).artifacts
