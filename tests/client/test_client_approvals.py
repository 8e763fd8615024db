"""Promotions into environments and their approvals through a real `conveyor server`: the server's conveyor.yaml
decides order and approval, and a requester is never its own approver (403 over HTTP, ForbiddenError here)."""

from __future__ import annotations

import pytest
import yaml

from conveyor.client import connect
from conveyor.core.entities import AliasChange, ApprovalRequest
from conveyor.core.errors import CheckFailedError, ForbiddenError
from conveyor.project import Project
from conveyor.security.identities import add_identity


@pytest.fixture
def env_server(tmp_path, launch, seeded_project):
    root = seeded_project(tmp_path / "p")
    config = yaml.safe_load((root / "conveyor.yaml").read_text()) or {}
    config["environments"] = {"dev": {}, "staging": {}, "prod": {"approval": True}}
    (root / "conveyor.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with Project.open(root) as project:  # authentication on: approvals count, every call needs a token
        add_identity(project.stores, "alice", "approver", actor="local:test")
        admin = add_identity(project.stores, "ops", "admin", actor="local:test").secret
    url, _pid = launch(root)
    return url, admin


def test_promotion_order_and_a_pending_approval_over_http(env_server):
    url, admin = env_server
    with connect(url, token=admin) as remote:  # an admin may approve, but never its own request
        with pytest.raises(CheckFailedError, match="promoted in order"):
            remote.models.promote_to("churn:1", "prod")  # order: staging first
        assert isinstance(remote.models.promote_to("churn:1", "dev"), AliasChange)
        assert isinstance(remote.models.promote_to("churn:1", "staging"), AliasChange)
        request = remote.models.promote_to("churn:1", "prod")
        assert isinstance(request, ApprovalRequest) and request.environment == "prod"
        assert [r.id for r in remote.models.requests()] == [request.id]
        assert "prod" not in remote.models.aliases("churn")
        with pytest.raises(ForbiddenError):
            remote.models.approve(request.id)  # the server acts as the requester here: never its own approver
        with pytest.raises(ForbiddenError):
            remote.models.reject(request.id, reason="not this week")  # nor its own rejecter
        assert [r.status for r in remote.models.requests()] == ["pending"]


def test_an_environment_gate_on_data_refuses_over_http_naming_gate_value_and_limit(tmp_path, launch, churn_frame):
    """The gates run on the server, with its data: a latency budget measured there refuses the promotion."""
    from sklearn.linear_model import LogisticRegression

    from conveyor.registry.models import build_signature, register_model

    root = tmp_path / "p"
    with Project.init(root, name="team") as project:
        frame = churn_frame()
        data, _ = project.data.ingest(frame, "churn")
        inputs = frame[["age", "income"]]
        model = LogisticRegression().fit(inputs, frame["churn"])
        signature = build_signature(model, "sklearn", inputs.head(), task="classification", target="churn")
        register_model(project.stores, model, "churn", signature=signature, dataset=data.ref)
        project.configure("environments", dev={"gates": {"max_latency_ms": 1e-6}}, prod={})
    url, _pid = launch(root)
    with connect(url) as remote:
        with pytest.raises(CheckFailedError, match=r"churn:1 failed 1 quality gate\(s\): dev.max_latency_ms \(p95 "
                                                   r"latency [0-9.]+ ms of \d+ single-row predictions on "
                                                   rf"{data.ref} must be <= 1e-06 ms\)"):
            remote.models.promote_to("churn:1", "dev")
        assert "dev" not in remote.models.aliases("churn")
