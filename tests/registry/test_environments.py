"""Environments: promotion order, each environment's gates, champion/challenger naming, and approvals (skipped
with no users, enforced with authentication on: a requester never approves its own request, everything audited)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import conveyor as cv
from conveyor.core.entities import AliasChange, ApprovalRequest
from conveyor.core.errors import BadInputError, CheckFailedError, ConflictError, ForbiddenError, NotFoundError
from conveyor.project import _options
from conveyor.registry import environments as envs
from conveyor.registry.models import register_model

ENVIRONMENTS = {"dev": {}, "staging": {"gates": {"min": {"roc_auc": 0.8}}}, "prod": {"approval": True}}


def _project(root, **config):
    root.mkdir(parents=True, exist_ok=True)
    (root / "conveyor.yaml").write_text(yaml.safe_dump({"name": "p", **config}, sort_keys=False))
    return cv.Project.open(root)


@pytest.fixture(scope="module")
def tiny_model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return LogisticRegression().fit(X, (X["a"] > 0).astype(int)), X


def _register(project, tiny_model, *scores: float) -> list[str]:
    model, X = tiny_model
    return [register_model(project.stores, model, "churn", input_example=X.head(), metrics={"roc_auc": s},
                           meta={"metric": "roc_auc"}).ref for s in scores]


def _audit(project) -> list[tuple[str, str, dict]]:
    return [(e.action, e.subject, e.details) for e in project.models.audit()]


@pytest.fixture
def envproject(tmp_path):
    with _project(tmp_path / "p", environments=ENVIRONMENTS) as project:
        yield project


def test_without_environments_the_champion_flow_is_unchanged(tmp_path, tiny_model):
    with _project(tmp_path / "p") as project:
        (v1,) = _register(project, tiny_model, 0.9)
        change = project.models.promote(v1, "champion")
        assert isinstance(change, AliasChange) and project.models.aliases("churn") == {"champion": 1}
        action, subject, details = _audit(project)[-1]
        assert (action, subject) == ("promote", "churn@champion") and "environment" not in details
        assert "approval" not in details


def test_environments_are_promoted_in_order(envproject, tiny_model):
    v1, v2 = _register(envproject, tiny_model, 0.9, 0.95)
    with pytest.raises(CheckFailedError, match=r"churn:1 has not been in 'dev'.*dev -> staging -> prod"):
        envproject.models.promote_to(v1, "staging")
    with pytest.raises(CheckFailedError, match=r"has not been in 'staging'"):
        envproject.models.promote_to(v1, "prod")
    envproject.models.promote_to(v1, "dev")
    envproject.models.promote_to(v1, "staging")
    envproject.models.promote_to(v1, "prod")
    assert envproject.models.aliases("churn") == {"dev": 1, "prod": 1, "staging": 1}
    # the same artifact in every environment: only the alias differs
    assert envproject.models.get("churn@prod").artifact == envproject.models.get("churn@dev").artifact
    # champion names the last environment, challenger the one before it
    assert envproject.models.get("churn@champion").ref == v1
    envproject.models.promote_to(v2, "dev")
    envproject.models.promote(v2, "challenger")  # = --to staging, with its gates
    assert envproject.models.get("churn@challenger").ref == v2 and envproject.models.aliases("churn")["staging"] == 2
    with pytest.raises(NotFoundError, match="Unknown environment 'prdo'") as err:
        envproject.models.promote_to(v2, "prdo")
    assert "Did you mean 'prod'" in (err.value.hint or "")


def test_an_environment_name_is_refused_as_an_alias(envproject, tiny_model):
    (v1,) = _register(envproject, tiny_model, 0.9)
    with pytest.raises(BadInputError, match=r"'prod' is an environment: use --to prod"):
        envproject.models.promote(v1, "prod")
    assert envproject.models.aliases("churn") == {}


def test_order_can_be_relaxed_per_environment(tmp_path, tiny_model):
    relaxed = {"dev": {}, "prod": {"requires_previous": False}}
    with _project(tmp_path / "p", environments=relaxed) as project:
        (v1,) = _register(project, tiny_model, 0.9)
        project.models.promote_to(v1, "prod")
        assert project.models.aliases("churn") == {"prod": 1}


def test_an_environment_gate_refuses_unless_overridden_with_a_reason(envproject, tiny_model):
    (weak,) = _register(envproject, tiny_model, 0.7)
    envproject.models.promote_to(weak, "dev")  # dev has no gates
    with pytest.raises(CheckFailedError, match=r"staging.min.roc_auc \(recorded holdout roc_auc 0.7000 must be >= "
                                               r"0.8\)"):
        envproject.models.promote_to(weak, "staging")
    with pytest.raises(BadInputError, match="needs a reason"):
        envproject.models.promote_to(weak, "staging", override_gates=True)
    envproject.models.promote_to(weak, "staging", override_gates=True, reason="hotfix")
    action, subject, details = _audit(envproject)[-1]
    assert (action, subject, details["failed_gates"], details["reason"]) == \
        ("promote", "churn@staging", ["staging.min.roc_auc"], "hotfix")


def test_beat_compares_with_the_holder_of_an_alias(tmp_path, tiny_model):
    config = {"dev": {}, "prod": {"requires_previous": False, "gates": {"beat": {"alias": "prod", "margin": 0.01}}}}
    with _project(tmp_path / "p", environments=config) as project:
        v1, v2, v3 = _register(project, tiny_model, 0.90, 0.905, 0.95)
        project.models.promote_to(v1, "prod")  # nothing to beat yet
        with pytest.raises(CheckFailedError, match=r"roc_auc 0.9050 vs @prod \(churn:1\) 0.9000: gain 0.0050"):
            project.models.promote_to(v2, "prod")
        project.models.promote_to(v3, "prod")
        assert project.models.aliases("churn") == {"prod": 3}


def test_approval_is_skipped_and_audited_with_no_users(envproject, tiny_model):
    assert _options.authentication_on(envproject) is False
    (v1,) = _register(envproject, tiny_model, 0.9)
    for env in ("dev", "staging"):
        envproject.models.promote_to(v1, env)
    change = envproject.models.promote_to(v1, "prod")
    assert isinstance(change, AliasChange) and envproject.models.aliases("churn")["prod"] == 1
    action, subject, details = _audit(envproject)[-1]
    assert (action, subject, details["approval"], details["environment"]) == \
        ("promote", "churn@prod", "approval skipped: no users", "prod")
    assert envproject.models.requests() == []


def _policy(project) -> envs.PromotionPolicy:
    config = project.config
    return envs.PromotionPolicy(config.environments, tuple(config.registry.protected), authentication_on=True)


def test_with_authentication_a_promotion_waits_for_another_users_approval(envproject, tiny_model):
    (v1,) = _register(envproject, tiny_model, 0.9)
    stores, policy = envproject.stores, _policy(envproject)
    for env in ("dev", "staging"):
        envs.promote_to(stores, v1, env, policy, actor="ci-bot")  # no approval needed there
    request = envs.promote_to(stores, v1, "prod", policy, actor="ci-bot", reason="release 7")
    assert isinstance(request, ApprovalRequest)
    assert (request.status, request.requester, request.environment, request.ref) == \
        ("pending", "ci-bot", "prod", "churn:1")
    assert "prod" not in stores.registry.aliases("churn")  # nothing moved yet
    assert [r.id for r in stores.approvals.requests("pending")] == [request.id]
    with pytest.raises(ForbiddenError, match=r"ci-bot asked for request .* and cannot approve it"):
        envs.approve(stores, request.id, policy, actor="ci-bot")
    assert "prod" not in stores.registry.aliases("churn")
    change = envs.approve(stores, request.id, policy, actor="alice", reason="reviewed")
    assert (change.alias, change.version) == ("prod", 1) and stores.registry.aliases("churn")["prod"] == 1
    decided = stores.approvals.get(request.id)
    assert decided is not None and (decided.status, decided.decided_by) == ("approved", "alice")
    trail = [(e.actor, e.action, e.subject) for e in stores.registry.audit_log()][-3:]
    assert trail == [("ci-bot", "approval_requested", "churn@prod"), ("alice", "approve", "churn@prod"),
                     ("alice", "promote", "churn@prod")]
    last = stores.registry.audit_log()[-1].details
    assert (last["approval"], last["requested_by"], last["approved_by"]) == (request.id, "ci-bot", "alice")
    with pytest.raises(ConflictError, match="already approved"):
        envs.approve(stores, request.id, policy, actor="bob")
    assert envproject.models.verify() == len(stores.registry.audit_log())


def test_a_rejected_request_moves_nothing(envproject, tiny_model):
    (v1,) = _register(envproject, tiny_model, 0.9)
    stores, policy = envproject.stores, _policy(envproject)
    for env in ("dev", "staging"):
        envs.promote_to(stores, v1, env, policy, actor="ci-bot")
    request = envs.promote_to(stores, v1, "prod", policy, actor="ci-bot")
    assert isinstance(request, ApprovalRequest)
    with pytest.raises(ForbiddenError):
        envs.reject(stores, request.id, actor="ci-bot")
    rejected = envs.reject(stores, request.id, actor="alice", reason="not this week")
    assert (rejected.status, rejected.decided_by, rejected.decision_reason) == ("rejected", "alice", "not this week")
    assert "prod" not in stores.registry.aliases("churn")
    assert [e.action for e in stores.registry.audit_log()][-1] == "reject"
    with pytest.raises(NotFoundError, match="Unknown approval request 'nope'"):
        envs.approve(stores, "nope", policy, actor="alice")


def test_protected_aliases_need_approval_without_environments(tmp_path, tiny_model):
    with _project(tmp_path / "p", registry={"protected": ["champion"]}) as project:
        v1, _ = _register(project, tiny_model, 0.9, 0.91)
        policy = _policy(project)
        assert not policy.enabled
        envs.promote_to(project.stores, v1, "challenger", policy, actor="ci-bot")  # not protected: moves
        request = envs.promote_to(project.stores, v1, "champion", policy, actor="ci-bot")
        assert isinstance(request, ApprovalRequest) and "champion" not in project.models.aliases("churn")
        envs.approve(project.stores, request.id, policy, actor="alice")
        assert project.models.aliases("churn") == {"challenger": 1, "champion": 1}
        # with no users (the default) the same promotion goes ahead, audited as skipped
        project.models.promote("churn:2", "champion")
        assert project.models.aliases("churn")["champion"] == 2
        assert _audit(project)[-1][2]["approval"] == "approval skipped: no users"


def test_authentication_on_switches_the_project_verbs(envproject, tiny_model, monkeypatch):
    monkeypatch.setattr(_options, "authentication_on", lambda _project: True)
    monkeypatch.setenv("CONVEYOR_USER", "ci-bot")
    (v1,) = _register(envproject, tiny_model, 0.9)
    envproject.models.promote_to(v1, "dev")
    envproject.models.promote_to(v1, "staging")
    request = envproject.models.promote(v1, "champion")  # champion is prod, which needs an approval
    assert isinstance(request, ApprovalRequest) and request.environment == "prod"
    assert [r.id for r in envproject.models.requests()] == [request.id]
    with pytest.raises(ForbiddenError):
        envproject.models.approve(request.id)
    monkeypatch.setenv("CONVEYOR_USER", "alice")
    envproject.models.approve(request.id)
    assert envproject.models.get("churn@champion").ref == v1
    assert envproject.models.requests() == [] and len(envproject.models.requests(status=None)) == 1


def test_retraining_and_the_agent_promote_into_the_first_environment_by_default(envproject, tiny_model):
    assert envproject.monitoring.agent("churn").policy.alias == "dev"  # retrain.environment unset: the first
    envproject.configure("retrain", environment="champion")
    assert envproject.monitoring.agent("churn").policy.alias == "prod"  # champion names the last one
    envproject.configure("retrain", environment="stagign")
    with pytest.raises(NotFoundError, match="Unknown environment 'stagign'"):
        envproject.monitoring.agent("churn")
    with _project(envproject.root / "plain") as plain:
        assert plain.monitoring.agent("churn").policy.alias == "champion"  # no environments: unchanged


def test_adding_a_user_turns_approvals_on_for_the_project(envproject, tiny_model):
    from conveyor.security.identities import add_identity

    assert _options.authentication_on(envproject) is False
    add_identity(envproject.stores, "alice", "approver", actor="local:test")
    assert _options.authentication_on(envproject) is True
    (v1,) = _register(envproject, tiny_model, 0.9)
    envproject.models.promote_to(v1, "dev")
    envproject.models.promote_to(v1, "staging")
    request = envproject.models.promote_to(v1, "prod")
    assert isinstance(request, ApprovalRequest) and "prod" not in envproject.models.aliases("churn")


def test_a_version_or_model_deleted_through_mlflow_is_never_promoted(envproject, tmp_path, tiny_model):
    v1, v2 = _register(envproject, tiny_model, 0.9, 0.9)
    envproject.stores.registry.annotate("churn", 2, deleted=True)
    with pytest.raises(BadInputError, match="churn:2 was deleted through an MLflow client") as refused:
        envproject.models.promote_to(v2, "dev")
    assert refused.value.field == "ref"
    assert envproject.models.promote_to(v1, "dev").version == 1  # its neighbour still goes
    with _project(tmp_path / "plain") as plain:
        (w1,) = _register(plain, tiny_model, 0.9)
        plain.stores.registry.annotate("churn", 0, deleted=True)  # the registered model itself
        with pytest.raises(BadInputError, match="model 'churn' was deleted"):
            plain.models.promote(w1, "champion")
        assert plain.models.aliases("churn") == {}
    assert [a for a, s, _ in _audit(envproject) if s == "churn@dev"] == ["promote"]
