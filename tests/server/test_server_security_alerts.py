"""Security signals of the platform server become alerts through the alert rules (security.anomalies), over real
HTTP on loopback: a burst of failed tokens, one token used from several addresses (127.0.0.1/2/3), a volume of
downloads and a request flood; each raises its own alert of subject ``security``, stored with the other alerts."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest
from tests.server.auth_fixtures import Served, bare_project, serve

from conveyor.security import add_identity
from conveyor.security.anomalies import SecuritySignals


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Served:
    project = bare_project(tmp_path_factory.mktemp("watched"), rate_limit={"failures": 100},
                           anomalies={"auth_failures": 3, "token_addresses": 3, "model_downloads": 2,
                                      "requests": 25})
    project.data.ingest(pd.DataFrame({"x": [1, 2, 3]}), "ledger")
    token = add_identity(project.stores, "ops", "admin", actor="tests").secret
    with project:
        for served in serve(project):
            served.tokens["ops"] = token
            served.app.state.gate.observe_every = 0  # evaluate on every request (the default batches: 10 s)
            yield served


def security_alerts(served: Served) -> dict[str, dict]:
    items = served.call("GET", "/alerts", "ops", params={"subject": "security"}).json()["items"]
    return {a["rule"]: a for a in items}


def test_a_burst_of_failed_tokens_raises_an_alert(watched: Served) -> None:
    assert "security.auth_failures" not in security_alerts(watched)
    for _ in range(3):
        assert watched.call("GET", "/runs", "cvy_guessing").status_code == 401
    alert = security_alerts(watched)["security.auth_failures"]
    assert alert["value"] >= 3 and alert["subject"] == "security" and alert["status"] == "open"


def test_one_token_from_many_addresses_raises_an_alert(watched: Served) -> None:
    for address in ("127.0.0.2", "127.0.0.3"):
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address)) as client:
            bearer = {"Authorization": f"Bearer {watched.tokens['ops']}"}
            answer = client.get(f"{watched.url}/api/v1/runs", headers=bearer)
            assert answer.status_code == 200
    alert = security_alerts(watched)["security.token_addresses"]
    assert alert["value"] == 3


def test_a_volume_of_downloads_raises_an_alert(watched: Served) -> None:
    for _ in range(2):
        assert watched.call("GET", "/datasets/ledger/file", "ops").status_code == 200
    assert security_alerts(watched)["security.model_downloads"]["value"] >= 2


def test_a_request_flood_raises_an_alert(watched: Served) -> None:
    for _ in range(25):
        watched.call("GET", "/health")
        watched.call("GET", "/training/budget", "ops")
    assert security_alerts(watched)["security.requests"]["value"] >= 25


def test_signals_count_only_inside_their_window() -> None:
    signals = SecuritySignals(window=60)
    signals.auth_failure("10.0.0.1", at=1000.0)
    signals.request("10.0.0.1", "ops", at=1000.0)
    signals.request("10.0.0.2", "ops", at=1030.0)
    assert signals.values(at=1030.0)["token_addresses"] == 2
    assert signals.values(at=1061.0) == {"auth_failures": 0.0, "token_addresses": 1.0, "model_downloads": 0.0,
                                         "requests": 1.0}
