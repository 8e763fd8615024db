"""The agent with environments: it promotes into retrain.environment (default the first one) through the same promote
path as `conveyor models promote --to`: the environment's gates refuse a challenger, an environment that needs an
approval gets a request under the agent's identity (decision ``pending_approval``), and a rollback needs none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conveyor.core.actors import acting_as
from conveyor.core.entities import ApprovalRequest
from conveyor.core.errors import ForbiddenError
from conveyor.project import Project
from conveyor.security.identities import add_identity


def world(seed: int, flip: bool, rows: int = 1500) -> pd.DataFrame:
    """y follows x1 before the change and its opposite after it (concept drift)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(1.0 if flip else 0.0, 1.0, rows)
    x2 = rng.normal(0.0, 1.0, rows)
    logit = (-2.5 if flip else 2.5) * x1 + 0.5 * x2
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": y})


def decisions(project: Project) -> list[dict]:
    return [e.details for e in project.models.audit() if e.action == "retrain_decision"]


def _project(root, environments: dict) -> Project:
    project = Project.init(root, name="heal")
    project.configure("environments", **environments)
    project.configure("train", budget="60s")
    project.configure("retrain", model="w", max_trials=2, min_labels=50, on=["new_data"])
    first, _ = project.data.ingest(world(0, flip=False), "w")
    trained = project.training.train(first, "y", max_trials=2)
    project.models.promote_to(trained.model_version.ref, "dev", override_gates=True, reason="the first model")
    project.data.ingest(world(1, flip=True), "w")  # the concept flips: a retrained model is far better
    return project


def test_the_agent_is_refused_by_the_first_environments_gates(tmp_path):
    environments = {"dev": {"gates": {"max_latency_ms": 1e-6}}, "staging": {}, "prod": {"approval": True}}
    with _project(tmp_path, environments) as project:
        agent = project.monitoring.agent()
        assert agent.policy.alias == "dev"  # retrain.environment unset: the first environment
        decision = agent.run_once()["decision"]
        assert decision["decision"] == "kept" and decision["challenger"] == "w:2"
        assert decision["challenger_score"] > decision["champion_score"]  # better, and still refused:
        assert "but the promotion into dev was refused" in decision["reason"]
        assert "dev.max_latency_ms (p95 latency" in decision["reason"] and "must be <= 1e-06 ms" in decision["reason"]
        assert project.models.aliases("w") == {"dev": 1}  # no raw challenger alias with environments
        assert decisions(project)[-1]["decision"] == "kept"
        assert project.stores.leases.jobs()[0].status == "done"


def test_the_agent_asks_for_approval_and_a_rollback_needs_none(tmp_path):
    environments = {"dev": {"approval": True}, "staging": {}, "prod": {"approval": True}}
    with _project(tmp_path, environments) as project:
        add_identity(project.stores, "alice", "approver", actor="local:test")  # authentication is on now
        with acting_as("agent-bot"):
            decision = project.monitoring.agent().run_once()["decision"]
        assert decision["decision"] == "pending_approval" and decision["challenger"] == "w:2"
        request = project.stores.approvals.get(decision["request"])
        assert isinstance(request, ApprovalRequest)
        assert (request.requester, request.environment, request.ref, request.status) == \
            ("agent-bot", "dev", "w:2", "pending")
        assert project.models.aliases("w") == {"dev": 1}  # nothing moved yet
        trail = [(e.actor, e.action, e.subject) for e in project.models.audit()]
        assert ("agent-bot", "approval_requested", "w@dev") in trail
        assert decisions(project)[-1]["decision"] == "pending_approval"
        job = project.stores.leases.jobs()[0]
        assert job.status == "pending_approval" and job.result["request"] == request.id  # no watch yet
        with acting_as("agent-bot"):  # a restarted agent finishing its decided promotion asks no second time
            again = project.monitoring.agent().promote_into("w:2", "agent resumed a decided promotion")
        assert again.id == request.id and len(project.models.requests()) == 1
        with acting_as("agent-bot"), pytest.raises(ForbiddenError, match="cannot approve it"):
            project.models.approve(request.id)
        with acting_as("alice"):
            project.models.approve(request.id, reason="looked at the card")
        assert project.models.aliases("w") == {"dev": 2}
        with acting_as("agent-bot"):  # the next tick watches the approved promotion like its own
            outcome = project.monitoring.agent().run_once()
        assert outcome["approvals"] == [{"job": job.key, "request": request.id, "status": "approved",
                                         "watch": "watching"}]
        watched = project.stores.leases.get(job.key)
        assert watched is not None and watched.status == "watching"
        assert (watched.result["watch"]["promoted"], watched.result["watch"]["previous"]) == ("w:2", "w:1")
        with acting_as("agent-bot"):  # rolling back to the previous holder: no approval, audited
            change = project.models.rollback("w", "dev", reason="live regression")
        assert (change.alias, change.version) == ("dev", 1) and project.models.aliases("w") == {"dev": 1}
        last = project.models.audit()[-1]
        assert (last.actor, last.action, last.subject, last.details["reason"]) == \
            ("agent-bot", "rollback", "w@dev", "live regression")
        assert project.models.requests() == []
        assert project.models.verify() == len(project.models.audit())


def test_a_rejected_request_ends_the_agents_job_and_moves_nothing(tmp_path):
    with _project(tmp_path, {"dev": {"approval": True}, "prod": {}}) as project:
        add_identity(project.stores, "alice", "approver", actor="local:test")
        with acting_as("agent-bot"):
            decision = project.monitoring.agent().run_once()["decision"]
        assert decision["decision"] == "pending_approval"
        with acting_as("alice"):
            project.models.reject(decision["request"], reason="not before the audit")
        with acting_as("agent-bot"):
            outcome = project.monitoring.agent().run_once()
        assert [a["status"] for a in outcome["approvals"]] == ["rejected"]
        job = project.stores.leases.jobs()[0]
        assert (job.status, job.result["request_status"]) == ("done", "rejected")
        assert project.models.aliases("w") == {"dev": 1}
